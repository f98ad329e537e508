import helpers
def test_leak(hull, bundle):
    b = bundle(["sleep", "100"])
    hull.create(b)
    hull.start(b.cid)
    hull.root = helpers.make_state_root()
