from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from daemons.models import Daemon


@login_required
def daemon_list(request):
    return render(request, "daemons/list.html", {"daemons": Daemon.objects.all()})


@login_required
def daemon_detail(request, name):
    daemon = get_object_or_404(Daemon, name=name)
    return render(request, "daemons/detail.html", {"daemon": daemon})
