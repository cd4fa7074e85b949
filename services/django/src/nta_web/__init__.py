"""nta_web: the Django web UI of the NTA stack (upload form, job progress, results, downloads)."""
