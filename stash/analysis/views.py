"""The Video analysis settings page: which analyzer the `analysis` job uses, and the tagger's settings.

Validation lives on the model and in stash.analysis.validation, precedence and the reachability check in
stash.analysis.config; the views translate HTTP.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from stash.analysis import config
from stash.analysis.forms import VideoAnalysisSettingsForm
from stash.analysis.models import VideoAnalysisSettings


@login_required
@require_http_methods(["GET", "POST"])
def video_analysis_settings(request):
    row = VideoAnalysisSettings.load()
    if request.method == "POST":
        form = VideoAnalysisSettingsForm(request.POST, instance=row)
        if form.is_valid():
            form.save()
            in_use = config.effective_settings().describe()
            messages.success(request, f"Video analysis settings saved; analysis jobs use the {in_use}.")
            return redirect("analysis:settings")
        return _render(request, form, status=400)
    return _render(request, VideoAnalysisSettingsForm(instance=row))


@login_required
@require_POST
def video_analysis_test(request):
    """Ask the tagger the form names (or the environment's) whether it answers, without saving anything."""
    form = VideoAnalysisSettingsForm(request.POST, instance=VideoAnalysisSettings.load())
    if not form.is_valid():
        return _render(request, form, status=400)
    url = config.effective_settings(form.instance).tagger_url
    try:
        status = config.check_tagger(url)
    except config.TaggerUnreachable as exc:
        test = {"ok": False, "url": url, "error": str(exc)}
    else:
        test = {"ok": True, "url": url, "status": status}
    # The page shows the submitted values again, unsaved, with the result above them.
    return _render(request, form, test=test)


def _render(request, form, *, test=None, status=200):
    row = VideoAnalysisSettings.load()
    context = {"form": form, "test": test, "effective": config.effective_settings(row), "updated_at": row.updated_at}
    return render(request, "stash/analysis/settings.html", context, status=status)
