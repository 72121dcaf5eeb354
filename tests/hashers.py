"""The password hasher of the test run (tests/settings.py names it)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with 1,000 iterations instead of over a million: every `user` fixture and every login
    hashes a password, which cost 0.5-5 s of CPU each on this 2-core machine (more the busier it is). The
    algorithm and the stored form stay Django's own ("pbkdf2_sha256$1000$..."), and the stored string
    carries its iteration count, so a process started with the project settings verifies these hashes too."""

    iterations = 1000
