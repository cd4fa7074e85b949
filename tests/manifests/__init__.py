"""The "manifests" test layer: renders k8s/ overlays and checks them offline (no cluster)."""
