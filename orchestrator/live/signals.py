"""The signal every status write sends, for the writes that bypass save() (UPDATE … RETURNING, update()).

`status_changed.send(sender=<model class>, instance=<the updated row, read in full>)`. Writes through
save() need not send it: post_save reaches the same receivers. The apps' receivers (their `live.py`,
connected in `ready()`) publish the row after the transaction commits, so the sender pays a queue append.
"""

from django.dispatch import Signal

# Cached per sender, like Django's model signals: a send is then a dict look-up and one call.
status_changed = Signal(use_caching=True)
