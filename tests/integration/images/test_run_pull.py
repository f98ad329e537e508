"""hull run --pull: a missing image is pulled from a real registry (docker-registry on
loopback) and run; never / always / missing as podman reads them."""

import json

from registry_fixtures import busybox_layout, henv, plain_registry  # noqa: F401
from store_fixtures import HullState


def test_run_pulls_a_missing_image(henv, plain_registry, tmp_path):
    henv.registries_conf.write_text(
        f'unqualified-search-registries = ["{plain_registry.addr}"]\n'
        f'[[registry]]\nlocation = "{plain_registry.addr}"\ninsecure = true\n')
    hs = HullState(henv.state)
    hs.env = dict(henv.env)
    try:
        # --pull never: not in the store, one line, nothing fetched
        p = hs("run", "--rm", "--pull", "never", "busybox", "true", check=False)
        assert p.returncode == 1 and p.stderr == "hull: unknown image 'busybox'\n"
        assert henv.blob_names() == set()
        before = plain_registry.log_text().count("GET /v2/busybox/manifests/")
        # missing (the default): pulled, then run
        p = hs("run", "--rm", "busybox", "echo", "pulled and ran")
        assert p.stdout == "pulled and ran\n"
        imgs = [i for i in json.loads(hs("image", "list", "--format", "json").stdout)
                if i["type"] == "oci"]
        assert imgs[0]["names"] == [f"{plain_registry.addr}/busybox:latest"]
        # now in the store: missing does not ask the registry again, always does
        after = plain_registry.log_text().count("GET /v2/busybox/manifests/")
        hs("run", "--rm", "busybox", "true")
        assert plain_registry.log_text().count("GET /v2/busybox/manifests/") == after
        hs("run", "--rm", "--pull", "always", "busybox", "true")
        assert plain_registry.log_text().count("GET /v2/busybox/manifests/") > after > before
        hs.assert_clean()
    finally:
        hs.cleanup()
