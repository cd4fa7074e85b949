"""The "tiltfile" test layer: the real Tiltfile evaluated by the real Tilt (`tilt alpha tiltfile-result`)."""
