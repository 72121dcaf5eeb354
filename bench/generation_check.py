"""generation_check_1m_ms: the generation daemon's "are there scenes needing generation?" over 1,000,000
scene rows on PostgreSQL (one in a thousand not generated), median of repeated calls of the very function
the daemon uses (stash.scenes.generation.scenes_need_generation). The all-generated case is reported on stderr.
"""

import time

from bench.common import emit, note, percentile, run_sql

ROWS = 1_000_000
CALLS = 200

FILL = (
    """INSERT INTO {table} (id, title, code, details, director, urls, organized, screenshot_url, synced_at,
                            generated, video_analyzed, analyzed, video_analysis_attempts, video_analysis_error)
       SELECT g, 'Scene ' || g, '', '', '', '[]', false, '', now(), g % 1000 <> 0, true, true, 0, ''
       FROM generate_series(1, {rows}) AS g""",
    "ANALYZE {table}",
)


def run(bench):
    from stash.models import Scene

    table = Scene._meta.db_table
    started = time.monotonic()
    run_sql(FILL, table=table, rows=str(ROWS))
    note(f"inserted {ROWS} scene rows in {time.monotonic() - started:.1f} s")
    try:
        emit("generation_check_1m_ms", round(median_ms(expect=True), 3), "ms")
        run_sql(("UPDATE {table} SET generated = true WHERE NOT generated", "ANALYZE {table}"), table=table)
        note(f"all generated: p50 {median_ms(expect=False):.3f} ms")
    finally:
        run_sql(("TRUNCATE {table} CASCADE",), table=table)


def median_ms(expect: bool) -> float:
    from stash.scenes.generation import scenes_need_generation

    timings = []
    for _ in range(CALLS):
        began = time.perf_counter()
        answer = scenes_need_generation()
        timings.append((time.perf_counter() - began) * 1000)
        assert answer is expect, f"expected {expect}, got {answer}"
    return percentile(timings, 50)
