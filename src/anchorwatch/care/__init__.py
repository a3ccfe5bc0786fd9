"""Care and recognition (DESIGN 1.4): thanks drafts, the care log, the private
venting channel and awards."""
