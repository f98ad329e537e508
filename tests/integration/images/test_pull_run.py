"""hull run IMAGE pulls a missing image from a real registry, as podman run does."""

from registry_fixtures import busybox_layout, henv, plain_registry  # noqa: F401


def manifest_gets(reg):
    return reg.log_text().count("GET /v2/busybox/manifests/")


def test_run_pulls_a_missing_image_through_a_short_name(henv, plain_registry):
    reg = plain_registry
    henv.registries_conf.write_text(
        f'unqualified-search-registries = ["{reg.addr}"]\n'
        f'[[registry]]\nlocation = "{reg.addr}"\ninsecure = true\n')
    before = manifest_gets(reg)
    p = henv.hull("run", "--rm", "busybox", "sh", "-c", "echo hi from $PATH; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout == "hi from /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    assert manifest_gets(reg) > before
    names = henv.hull("image", "list", "--format", "json").stdout
    assert f"{reg.addr}/busybox:latest" in names

    # present now: not pulled again (--pull missing, the default)
    before = manifest_gets(reg)
    p = henv.hull("run", "--rm", f"{reg.addr}/busybox", "true")
    assert p.returncode == 0, p.stderr
    assert manifest_gets(reg) == before

    # --pull always asks the registry again
    p = henv.hull("run", "--rm", "--pull", "always", f"{reg.addr}/busybox", "true")
    assert p.returncode == 0, p.stderr
    assert manifest_gets(reg) > before

    # --pull never with an image not in the store: refused, the registry not asked
    before = manifest_gets(reg)
    p = henv.hull("run", "--rm", "--pull", "never", f"{reg.addr}/busybox:other", "true")
    assert p.returncode != 0
    assert manifest_gets(reg) == before

    assert henv.hull("image", "delete", f"{reg.addr}/busybox:latest").returncode == 0
