"""The "tasks" test layer: the invoke tasks against a fake kubectl and the real kubectl for rendering."""
