"""Remove the KUBE-* iptables chains the kubelet and kube-proxy leave behind (`kube-proxy --cleanup` keeps the
kubelet's KUBE-FIREWALL, KUBE-MARK-* and the canary chains). Only chains named KUBE-* and jumps to them are touched:
Docker's own rules stay."""

from __future__ import annotations

import shlex
import shutil
import subprocess

PREFIX = "KUBE-"
TABLES = ("filter", "nat", "mangle")


def kube_chains(tool: str, table: str) -> tuple[list[str], list[list[str]]]:
    """(KUBE-* chains, rules of other chains that jump to them) in ``table``, from ``<tool>-save``."""
    out = subprocess.run([f"{tool}-save", "-t", table], capture_output=True, text=True)
    chains, jumps = [], []
    for line in out.stdout.splitlines():
        if line.startswith(":" + PREFIX):
            chains.append(line[1:].split()[0])
        elif line.startswith("-A ") and not line.startswith("-A " + PREFIX):
            args = shlex.split(line)
            if "-j" in args and args[args.index("-j") + 1].startswith(PREFIX):
                jumps.append(args[1:])
    return chains, jumps


def remove_kube_chains() -> list[str]:
    """Delete every KUBE-* chain (IPv4 and IPv6) after unhooking it; returns ``table/chain`` names removed."""
    removed = []
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool) or not shutil.which(f"{tool}-save"):
            continue
        for table in TABLES:
            chains, jumps = kube_chains(tool, table)
            for rule in jumps:
                subprocess.run([tool, "-w", "-t", table, "-D", rule[0], *rule[1:]], capture_output=True)
            for chain in chains:  # flush all first: KUBE chains jump to one another
                subprocess.run([tool, "-w", "-t", table, "-F", chain], capture_output=True)
            for chain in chains:
                if subprocess.run([tool, "-w", "-t", table, "-X", chain], capture_output=True).returncode == 0:
                    removed.append(f"{table}/{chain}")
    return removed
