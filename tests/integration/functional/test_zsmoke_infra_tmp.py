import helpers
def test_smoke(hull, bundle):
    b = bundle(["sh", "-c", "echo hi; exit 3"])
    p = hull.run(b)
    assert p.returncode == 3, p
    assert p.stdout == "hi\n"
def test_create(hull, bundle):
    b = bundle(["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"])
    cid = hull.create(b)
    st = hull.state(cid)
    assert st["status"] == "created"
    hull.start(cid)
    hull.wait_status(cid, "running")
    hull.kill(cid)
    hull.wait_status(cid, "stopped")
def test_inside(hull, bundle):
    b = bundle()
    assert helpers.inside(hull, b, "echo $((1+2))") == "3\n"
    assert helpers.inside(hull, b, "hostname") == "runc\n"
def test_console(hull, bundle):
    b = bundle(["sh"], terminal=True)
    with helpers.console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        hull.start(cid)
        cs.write("echo he''llo\n")
        cs.read_until("hello")
def test_leave_running(hull, bundle):
    b = bundle(["sleep", "100"])
    hull.create(b)
