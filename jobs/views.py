from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from jobs.models import Job


@login_required
def job_list(request):
    return render(request, "jobs/list.html", {"jobs": Job.objects.all()[:50]})


@login_required
def job_detail(request, pk):
    return render(request, "jobs/detail.html", {"job": get_object_or_404(Job, pk=pk)})
