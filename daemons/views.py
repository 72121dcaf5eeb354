"""Daemon pages: the dashboard of cards, a daemon's detail page, and the POST endpoints behind their buttons.

Views translate HTTP to daemons.services and back; every rule lives there. Each POST answers with a
redirect and a message (or, for an invalid configuration, the page again with its errors and HTTP 400).
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from daemons import pause, schedule, services
from daemons.models import LEVEL_ORDER, Daemon, DesiredState
from orchestrator import json_input
from orchestrator.schema_forms import form_fields, other_errors

LOG_PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 25
CONFIG_APPLIED = "The running daemon picks up the change without restarting."

ACTIONS = {
    "start": (services.start, "{} is starting."),
    "stop": (services.stop, "{} is stopping."),
    "restart": (services.restart, "{} is restarting."),
}
# Bulk button → (operation taking the acting user's name, verb, what to say when it changed nothing).
BULK_ACTIONS = {
    "start": (lambda by: services.start_all(), "started", services.NOTHING_TO_DO["start"]),
    "stop": (lambda by: services.stop_all(), "stopped", services.NOTHING_TO_DO["stop"]),
    "restart": (lambda by: services.restart_all(), "restarted", services.NOTHING_TO_DO["restart"]),
    "pause": (lambda by: pause.pause_all(by=by), "paused", "Every daemon is already paused."),
    "resume": (lambda by: pause.resume_all(by=by), "resumed", "No daemon is paused."),
}


# --- pages -------------------------------------------------------------------------------------


@login_required
def daemon_list(request):
    daemons = schedule.attach(services.attach_current_jobs(list(Daemon.objects.order_by("name"))))
    now = timezone.now()
    for daemon in daemons:
        daemon.stale = services.is_stale(daemon, now)
    return render(request, "daemons/list.html", {"daemons": daemons})


@login_required
def daemon_detail(request, name):
    (daemon,) = schedule.attach(services.attach_current_jobs([_get_daemon(name)]))
    return render(request, "daemons/detail.html", _detail_context(request, daemon))


# --- control -------------------------------------------------------------------------------------


@login_required
@require_POST
def daemon_action(request, name, action):
    daemon = _get_daemon(name)
    operation, done_message = ACTIONS[action]
    daemon = operation(daemon)
    messages.success(request, done_message.format(daemon.display_name))
    if daemon.desired_state == DesiredState.RUNNING and not services.host_alive(daemon):
        messages.warning(request, _no_host_message(daemon))
    return _redirect_back(request, "daemons:list")


@login_required
@require_POST
def bulk_action(request, action):
    operation, verb, none_message = BULK_ACTIONS[action]
    names = operation(request.user.get_username())
    if names:
        plural = "" if len(names) == 1 else "s"
        messages.success(request, f"Successfully {verb} {len(names)} daemon{plural}: {', '.join(names)}")
    else:
        messages.info(request, none_message)
    return _redirect_back(request, "daemons:list")


@login_required
@require_POST
def auto_start(request, name):
    """Toggle auto-start only. The configuration is never part of this request, so it cannot change."""
    daemon = _get_daemon(name)
    enabled = request.POST.get("auto_start") in ("on", "true", "1")
    daemon = services.set_auto_start(daemon, enabled)
    state = "on" if daemon.auto_start else "off"
    messages.success(request, f"Auto-start is {state} for {daemon.display_name}.")
    return _redirect_back(request, "daemons:list")


# --- schedule and pause (daemons/pause.py, daemons/schedule.py) ---------------------------------------


@login_required
@require_POST
def pause_daemon(request, name):
    daemon = _get_daemon(name)
    try:
        daemon = pause.pause(daemon, request.POST.get("mode", "soft"), by=request.user.get_username())
    except pause.PauseError as exc:
        messages.error(request, f"{daemon.display_name} was not paused: {exc}")
        return _refused(request, daemon, 400)
    hard = " It stops its running job now and starts it again on Resume." if daemon.pause_mode == "hard" else ""
    messages.success(
        request, f"{daemon.display_name} is paused: it finishes what it is doing and starts nothing new.{hard}"
    )
    return _redirect_back(request, "daemons:list")


@login_required
@require_POST
def resume_daemon(request, name):
    daemon = pause.resume(_get_daemon(name), by=request.user.get_username())
    messages.success(request, f"{daemon.display_name} resumed.")
    return _redirect_back(request, "daemons:list")


@login_required
@require_POST
def run_now(request, name):
    daemon = _get_daemon(name)
    try:
        schedule.request_run_now(daemon)
    except schedule.NotRunnable as exc:
        messages.error(request, str(exc))
        return _refused(request, daemon, 409)
    messages.success(request, f"{daemon.display_name} runs now.")
    return _redirect_back(request, "daemons:list")


# --- configuration -------------------------------------------------------------------------------


@login_required
@require_POST
def config_save(request, name):
    """Save the typed form (one input per setting)."""
    daemon = _get_daemon(name)
    schema = services.schema_for(daemon)
    if schema is None:
        return _unknown_kind(request, daemon)
    data = schema.from_form(request.POST)
    return _save_configuration(request, daemon, lambda: data, form_values=data, errors_key="form_errors")


@login_required
@require_POST
def config_raw(request, name):
    """Save the raw JSON (the power users' editor). Settings left out take their defaults."""
    daemon = _get_daemon(name)
    if services.schema_for(daemon) is None:
        return _unknown_kind(request, daemon)
    text = request.POST.get("configuration", "")
    return _save_configuration(request, daemon, lambda: _parse_json(text), raw_text=text, errors_key="raw_errors")


def _save_configuration(request, daemon, read, *, errors_key: str, **echo):
    """Validate and save what `read()` returns; on errors show the page again with them and what was
    posted (`echo`), HTTP 400, nothing saved."""
    try:
        services.update_configuration(daemon, read())
    except services.ConfigError as exc:
        messages.error(request, "The configuration was not saved: correct the errors below.")
        context = _detail_context(request, daemon, **echo, **{errors_key: exc.errors})
        return render(request, "daemons/detail.html", context, status=400)
    messages.success(request, f"Configuration saved. {CONFIG_APPLIED}")
    return redirect(daemon.get_absolute_url() + "#configuration")


@login_required
@require_POST
def config_reset(request, name):
    daemon = _get_daemon(name)
    if services.schema_for(daemon) is None:
        return _unknown_kind(request, daemon)
    services.reset_configuration(daemon)
    messages.success(request, f"Configuration reset to defaults. {CONFIG_APPLIED}")
    return redirect(daemon.get_absolute_url() + "#configuration")


# --- helpers -------------------------------------------------------------------------------------


def _get_daemon(name: str) -> Daemon:
    return get_object_or_404(Daemon, name=name)


def _detail_context(request, daemon, *, form_values=None, form_errors=None, raw_text=None, raw_errors=None):
    schema = services.schema_for(daemon)
    config = services.effective_config(daemon) if schema else {}
    context = {
        "daemon": daemon,
        "stale": services.is_stale(daemon),
        "host_alive": services.host_alive(daemon),
        "no_host_message": _no_host_message(daemon),
        "has_schema": schema is not None,
        "last_error_summary": _last_line(daemon.last_error),
        "schema_fields": form_fields(schema, form_values or config, form_errors) if schema else [],
        "form_errors": other_errors(schema, form_errors) if schema else [],
        "raw_config": raw_text if raw_text is not None else json.dumps(config, indent=2),
        "raw_errors": (other_errors(schema, raw_errors) + _field_errors(schema, raw_errors)) if schema else [],
    }
    context.update(_log_context(request, daemon))
    history = daemon.job_history.all()
    context["history_page"] = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("hpage"))
    return context


def _log_context(request, daemon) -> dict:
    """The log tail: newest first, `?level=` shows that level and more severe ones, `?page=` pages."""
    level = request.GET.get("level", "").upper()
    if level not in LEVEL_ORDER:
        level = ""
    logs = daemon.logs.all()
    if level:
        logs = logs.filter(level__in=[name for name, rank in LEVEL_ORDER.items() if rank >= LEVEL_ORDER[level]])
    page = Paginator(logs, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return {"levels": list(LEVEL_ORDER), "level": level, "min_level": LEVEL_ORDER.get(level, 0), "log_page": page}


def _parse_json(text: str):
    try:
        return json_input.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise services.ConfigError({"non_field_errors": [f"Invalid JSON: {exc}"]}) from exc


def _no_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and the database's jsonb) does not.
    raise ValueError(f"{name} is not a JSON value")


def _field_errors(schema, errors) -> list[str]:
    """Errors of known settings, for the raw editor (which has no per-field inputs)."""
    known = {f.name for f in schema.fields}
    return [f"{key}: {message}" for key, msgs in (errors or {}).items() if key in known for message in msgs]


def _no_host_message(daemon: Daemon) -> str:
    return (
        f"No host process is running for {daemon.display_name}: it runs once `manage.py rundaemon "
        f"{daemon.name}` is up (`make run` starts one host per daemon)."
    )


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _unknown_kind(request, daemon):
    messages.error(request, f"{daemon.name} has no registered kind ({daemon.kind!r}); its settings cannot be edited.")
    return redirect(daemon.get_absolute_url())


def _redirect_back(request, default: str):
    """Back to the page the button was on (the dashboard, a detail page), never to another site."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def _refused(request, daemon, status: int):
    """A refused button (the message is already queued): the daemon's page with it, and `status`."""
    (daemon,) = schedule.attach(services.attach_current_jobs([daemon]))
    return render(request, "daemons/detail.html", _detail_context(request, daemon), status=status)
