"""The "tiltfile" test layer: the real Tiltfile evaluated by go.starlark.net against recording Tilt built-ins."""
