"""hull image import ROOTFS.tar METADATA.tar: LXD-style metadata (metadata.yaml)."""

import hashlib
import io
import json
import subprocess
import tarfile

import pytest

from test_images import store_entries

GOOD = """\
architecture: x86_64
creation_date: 1700000000
expiry_date: 1800000000
properties:
  os: debian
  release: bookworm
  description: "Debian 12 amd64 (test)"
  variant: default
templates:
  /etc/hostname:
    when:
      - create
    template: hostname.tpl
"""


def metadata_tar(path, yaml_text, extra=(), compress=""):
    """A metadata tarball holding metadata.yaml (and `extra` (name, bytes) files)."""
    mode = f"w:{compress}" if compress else "w"
    with tarfile.open(path, mode) as t:
        for name, data in [("metadata.yaml", yaml_text.encode()), *extra]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("compress", ["", "xz"])
def test_import_with_metadata(hullsys, busybox_tar, tmp_path, compress):
    meta = metadata_tar(tmp_path / f"meta.tar{'.' + compress if compress else ''}", GOOD,
                        extra=[("templates/hostname.tpl", b"{{ container.name }}\n")],
                        compress=compress)
    p = hullsys("image", "import", busybox_tar, meta, "--alias", "deb")
    fp = p.stdout.strip()
    # LXD's fingerprint of a split image: sha256 of the metadata, then the rootfs
    h = hashlib.sha256(meta.read_bytes() + busybox_tar.read_bytes()).hexdigest()
    assert fp == h
    # templates are counted, not applied, and the user is told so in one line
    assert p.stderr.strip().splitlines() == [
        "hull: note: the metadata's 1 template file(s) are not applied "
        "(hull renders no LXD templates)"]
    show = json.loads(hullsys("image", "show", "deb").stdout)
    assert show["architecture"] == "x86_64"
    assert show["creation_date"] == "2023-11-14T22:13:20Z"
    assert show["properties"] == {"os": "debian", "release": "bookworm",
                                  "description": "Debian 12 amd64 (test)",
                                  "variant": "default"}
    assert show["templates"] == 1
    assert show["size"] == meta.stat().st_size + busybox_tar.stat().st_size
    listed = json.loads(hullsys("image", "list", "--format", "json").stdout)
    assert listed == [show]
    table = hullsys("image", "list").stdout.splitlines()
    assert table[0].split() == ["FINGERPRINT", "ALIASES", "ARCH", "CREATED", "SOURCE",
                                "DESCRIPTION"]
    assert table[1].split()[:3] == [fp[:12], "deb", "x86_64"]
    assert table[1].endswith("Debian 12 amd64 (test)")
    # the same rootfs without metadata is another image, without those fields
    fp2 = hullsys("image", "import", busybox_tar, "--alias", "plain").stdout.strip()
    assert fp2 != fp
    plain = json.loads(hullsys("image", "show", "plain").stdout)
    assert "architecture" not in plain and "properties" not in plain
    assert hullsys("image", "list").stdout.splitlines()[1 if fp2 < fp else 2].split()[2] == "-"
    # an instance of the imported image works as any other
    from sysharness import new_name
    name = new_name("meta")
    hullsys("init", "deb", name)
    assert json.loads(hullsys("info", name).stdout)["image"] == fp


def test_metadata_minimal(hullsys, busybox_tar, tmp_path):
    meta = metadata_tar(tmp_path / "m.tar", "architecture: amd64\ncreation_date: 0\n")
    p = hullsys("image", "import", busybox_tar, meta)
    assert p.stderr == ""
    show = json.loads(hullsys("image", "show", p.stdout.strip()).stdout)
    assert show["architecture"] == "amd64" and show["properties"] == {}
    assert show["creation_date"] == "1970-01-01T00:00:00Z" and show["templates"] == 0


BAD = [
    ("architecture: sparc99\ncreation_date: 1\n", "architecture: unknown architecture 'sparc99'"),
    ("architecture: [x86_64]\ncreation_date: 1\n", "architecture: unknown architecture"),
    ("creation_date: 1\n", "architecture: missing"),
    ("architecture: x86_64\n", "creation_date: missing"),
    ("architecture: x86_64\ncreation_date: yesterday\n",
     "creation_date: expected seconds since the epoch, got 'yesterday'"),
    ("architecture: x86_64\ncreation_date: -5\n", "creation_date: expected seconds"),
    ("architecture: x86_64\ncreation_date: 1\nproperties: [os]\n",
     "properties: expected a mapping"),
    ("architecture: x86_64\ncreation_date: 1\nproperties:\n  os: {a: b}\n",
     "properties.os: expected a string"),
    ("architecture: x86_64\ncreation_date: 1\nproperties:\n  description: \"a\\nb\"\n",
     "properties.description: expected one line"),
    ("architecture: [x86_64\n", "metadata.yaml line 2:"),
    ("- just\n- a list\n", "metadata.yaml: expected a mapping"),
    ("", "metadata.yaml: expected a mapping"),
]


@pytest.mark.parametrize("text,msg", BAD, ids=[m.split(":")[0] + str(i)
                                                for i, (_, m) in enumerate(BAD)])
def test_bad_metadata(hullsys, busybox_tar, tmp_path, text, msg):
    meta = metadata_tar(tmp_path / "bad.tar", text)
    p = hullsys("image", "import", busybox_tar, meta, "--alias", "x", check=False)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"hull: import: metadata '{meta}': "), lines[0]
    assert msg in lines[0], lines[0]
    assert store_entries(hullsys) == []


def test_bad_metadata_file(hullsys, busybox_tar, tmp_path):
    no_yaml = tmp_path / "noyaml.tar"
    with tarfile.open(no_yaml, "w") as t:
        t.add(busybox_tar, arcname="something-else")
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x02" * 2048)
    cases = [
        (no_yaml, "no metadata.yaml in it"),
        (garbage, f"metadata '{garbage}'"),
        (tmp_path / "missing.tar", "No such file or directory"),
        (tmp_path, "not a regular file"),
    ]
    big = tmp_path / "big.tar"
    metadata_tar(big, "architecture: x86_64\ncreation_date: 1\n# " + "x" * (1 << 20) + "\n")
    cases.append((big, "larger than"))
    for meta, msg in cases:
        p = hullsys("image", "import", busybox_tar, meta, check=False)
        assert p.returncode != 0, meta
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0], (meta, p.stderr)
    assert store_entries(hullsys) == []
    # three arguments are one too many
    p = hullsys("image", "import", busybox_tar, no_yaml, no_yaml, check=False)
    assert p.returncode != 0 and "unexpected argument" in p.stderr
    # a good metadata file does not make a hostile rootfs acceptable
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        i = tarfile.TarInfo("../escape")
        t.addfile(i, io.BytesIO(b""))
    meta = metadata_tar(tmp_path / "m.tar", GOOD)
    p = hullsys("image", "import", evil, meta, "--alias", "e", check=False)
    assert p.returncode != 0 and "entry '../escape'" in p.stderr
    assert store_entries(hullsys) == []


def test_unpacks_with_real_tar_tools(hullsys, busybox_tar, tmp_path):
    """A metadata tarball as LXD's tools write it (tar of a dir, ./ prefixed names)."""
    d = tmp_path / "m"
    (d / "templates").mkdir(parents=True)
    (d / "metadata.yaml").write_text(GOOD)
    (d / "templates" / "hostname.tpl").write_text("x\n")
    (d / "templates" / "hosts.tpl").write_text("y\n")
    meta = tmp_path / "meta.tar.gz"
    subprocess.run(["tar", "-C", d, "-czf", meta, "."], check=True)
    p = hullsys("image", "import", busybox_tar, meta)
    assert "2 template file(s)" in p.stderr
    show = json.loads(hullsys("image", "show", p.stdout.strip()).stdout)
    assert show["properties"]["release"] == "bookworm"
