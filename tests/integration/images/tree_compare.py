"""The file tree of an unpacked image, as the differential tests against podman compare it."""

import os
import stat
import subprocess


def tree(root):
    """Every path of a tree: type, mode (with setuid/setgid bits), owner, size, link target,
    hard-link count and the xattrs images carry (user.*, security.capability)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            xattrs = sorted((k, os.getxattr(p, k, follow_symlinks=False))
                            for k in os.listxattr(p, follow_symlinks=False)
                            if k.startswith("user.") or k == "security.capability")
            out[os.path.relpath(p, root)] = (
                stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid,
                st.st_size if stat.S_ISREG(st.st_mode) else None,
                os.readlink(p) if stat.S_ISLNK(st.st_mode) else None,
                st.st_nlink if stat.S_ISREG(st.st_mode) else None, xattrs)
    return out


def stacked_tree(layers_dir, diff_ids, mnt):
    """tree() of an image as hull stacks it: its unpacked layers (layers_dir/<hex>) as a
    read-only overlay on the empty directory mnt, unmounted again."""
    lower = ":".join(str(layers_dir / d.split(":")[1]) for d in reversed(diff_ids))
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"ro,lowerdir={lower}", mnt],
                   check=True)
    try:
        return tree(mnt)
    finally:
        subprocess.run(["umount", mnt], check=True)
