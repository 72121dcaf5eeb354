from stash.connection.config import is_demo_mode


def stash(request):
    """Every page (ours and the admin's) says so when the built-in emulator stands in for Stash."""
    return {"stash_demo_mode": is_demo_mode()}
