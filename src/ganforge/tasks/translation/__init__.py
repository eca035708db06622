"""What paired (pix2pix) and unpaired (cyclegan) translation share: task base, pipeline, evaluator, `translate`."""
