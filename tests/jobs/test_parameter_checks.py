"""Job parameters the schema alone cannot judge: a plan that must exist (apply_plan), and scan paths
that must be absolute, normalised folders inside Stash's library (stash_scan). Refused with a 400 when
the job is created, never accepted and failed later (issue 14)."""

import pytest

from jobs.models import Job, JobStatus
from jobs.services import create_job
from stash.emulator.tasks import ScanTask
from stash.plans.models import AnalysisPlan
from tests.jobs.test_stash_jobs import finished, worker  # noqa: F401


def post_job(client, job_type, parameters):
    return client.post("/api/jobs/", {"type": job_type, "parameters": parameters}, content_type="application/json")


def test_apply_plan_for_a_plan_that_does_not_exist_is_a_400(browser):
    response = post_job(browser, "apply_plan", {"plan_id": 999999})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"plan_id": ["There is no plan 999999."]}
    assert not Job.objects.exists()
    plan = AnalysisPlan.objects.create(name="Real plan")
    assert post_job(browser, "apply_plan", {"plan_id": plan.pk}).status_code == 201


@pytest.mark.parametrize(
    "path,message",
    [
        ("../../etc", "must be absolute"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("/srv/\0lib", "NUL"),
        ("relative/folder", "must be absolute"),
        ("/srv/library/../../etc", "'..'"),
        ("/srv/./library", "'.'"),
        (7, "list of strings"),
    ],
)
def test_scan_paths_of_the_wrong_form_are_a_400(browser, path, message):
    response = post_job(browser, "stash_scan", {"paths": [path]})
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["parameters"]["paths"])
    assert not Job.objects.exists()


def test_scan_paths_are_normalised(browser):
    response = post_job(browser, "stash_scan", {"paths": ["/srv//library/new/", "/srv/library/new"]})
    assert response.status_code == 201, response.content
    assert Job.objects.get().parameters["paths"] == ["/srv/library/new"]


def test_the_run_page_refuses_a_bad_scan_path_with_a_form_error(browser):
    response = browser.post("/jobs/run/", {"type": "stash_scan", "paths": "../../etc"})
    assert response.status_code == 400
    assert "must be absolute" in response.content.decode()
    assert not Job.objects.exists()


def test_paths_outside_stashs_library_are_a_400(browser, stash_emulator, tmp_path):
    library = tmp_path / "library"
    (library / "new").mkdir(parents=True)
    stash_emulator.store.library_paths = [str(library)]
    response = post_job(browser, "stash_scan", {"paths": ["/"]})
    assert response.status_code == 400
    assert f"Not inside Stash's library ({library}): /." in response.json()["parameters"]["paths"][0]
    response = post_job(browser, "stash_scan", {"paths": [str(tmp_path)]})
    assert response.status_code == 400
    assert post_job(browser, "stash_scan", {"paths": [str(library / "new")]}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_scan_outside_the_library_fails_at_its_start_without_asking_stash_to_scan(
    stash_emulator,
    worker,  # noqa: F811
    tmp_path,
):
    job = create_job("stash_scan", {"paths": ["/"]})  # Stash reports no library folder yet: accepted
    stash_emulator.store.library_paths = [str(tmp_path)]
    job = finished(job)
    assert job.status == JobStatus.FAILED
    assert "Not inside Stash's library" in job.error
    assert stash_emulator.store.jobs.find(1) is None  # no scan was queued in Stash


def test_the_emulator_never_crawls_outside_its_library(stash_emulator, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "in.mp4").write_bytes(b"\0" * 10)
    (tmp_path / "out.mp4").write_bytes(b"\0" * 10)
    store = stash_emulator.store
    store.library_paths = [str(library)]
    assert ScanTask({"paths": [str(tmp_path)]}).prepare(store) == 0
    assert ScanTask({"paths": ["/"]}).prepare(store) == 0
    task = ScanTask({})
    assert task.prepare(store) == 1 and task.files == [str(library / "in.mp4")]
