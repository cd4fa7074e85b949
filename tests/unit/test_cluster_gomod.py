"""Wrapper go.mod generation (nta_dev.cluster.gomod): local-path replaces become published versions."""

from __future__ import annotations

import pytest

from nta_dev.cluster.gomod import parse_go_mod, staging_version, wrapper_go_mod

# A trimmed copy of the shape of k8s.io/kubernetes's go.mod: staging modules required at v0.0.0 and replaced by
# folders, one ordinary replace, comments, a single-line require.
KUBERNETES_LIKE = """\
// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/spf13/cobra v1.10.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
)

require k8s.io/kubelet v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/kubelet => ./staging/src/k8s.io/kubelet
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
)

replace github.com/old/thing => github.com/new/thing v1.2.3
"""


def test_parse_reads_module_go_requires_and_replaces() -> None:
    mod = parse_go_mod(KUBERNETES_LIKE)
    assert mod.module == "k8s.io/kubernetes"
    assert mod.go == "1.26.0"
    assert mod.requires == {"github.com/spf13/cobra": "v1.10.0", "k8s.io/api": "v0.0.0",
                            "k8s.io/client-go": "v0.0.0", "k8s.io/kubelet": "v0.0.0"}
    local = {r.old: r.new for r in mod.replaces if r.local}
    assert local["k8s.io/api"] == "./staging/src/k8s.io/api"
    assert len(local) == 4
    (versioned,) = [r for r in mod.replaces if not r.local]
    assert (versioned.old, versioned.new, versioned.new_version) == ("github.com/old/thing", "github.com/new/thing",
                                                                       "v1.2.3")


def test_wrapper_requires_the_release_and_points_staging_at_published_versions() -> None:
    text = wrapper_go_mod(parse_go_mod(KUBERNETES_LIKE), "v1.37.2", "v0.37.2",
                          ["k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"])
    lines = [line.strip() for line in text.splitlines()]
    assert "require k8s.io/kubernetes v1.37.2" in lines
    assert "go 1.26.0" in lines
    assert "k8s.io/api => k8s.io/api v0.37.2" in lines
    assert "k8s.io/client-go => k8s.io/client-go v0.37.2" in lines
    assert "k8s.io/kubelet => k8s.io/kubelet v0.37.2" in lines
    assert "github.com/old/thing => github.com/new/thing v1.2.3" in lines
    # Never published, never required: a replace would only point at a version that does not exist.
    assert not any("sample-controller" in line for line in lines)
    assert not any("./staging" in line for line in lines)
    tools = lines[lines.index("tool (") + 1: lines.index(")", lines.index("tool ("))]
    assert tools == ["k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"]


def test_etcd_style_parent_folder_replaces_take_the_sibling_version() -> None:
    etcd = ("module go.etcd.io/etcd/server/v3\n\ngo 1.25\n\nrequire (\n\tgo.etcd.io/etcd/api/v3 v3.7.3\n)\n\n"
            "replace (\n\tgo.etcd.io/etcd/api/v3 => ../api\n)\n")
    text = wrapper_go_mod(parse_go_mod(etcd), "v3.7.3", "v3.7.3", ["go.etcd.io/etcd/server/v3"], go="1.26.0")
    assert "\tgo.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.7.3" in text.splitlines()
    assert "go 1.26.0" in text.splitlines()


@pytest.mark.parametrize(("release", "staging"), [("1.37.2", "v0.37.2"), ("v1.35.4", "v0.35.4"),
                                                  ("1.36.10", "v0.36.10")])
def test_staging_version(release: str, staging: str) -> None:
    assert staging_version(release) == staging


@pytest.mark.parametrize("bad", ["1.37", "2.0.1", "v1.37.2-rc.1", ""])
def test_staging_version_refuses_what_is_not_a_release(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes release"):
        staging_version(bad)


def test_not_a_go_mod_is_refused() -> None:
    with pytest.raises(ValueError, match="not a go.mod"):
        parse_go_mod("hello\n")
