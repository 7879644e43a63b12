"""Time PDF output of 1,000 two-page letters (target: under 4 s), beside the
ReportLab engine it replaced, measured in the same run.

The letters come from the shipped third-pillar template for 1,000 recipients
whose languages cycle through the seven shipped ones (en fr es ar ru zh pt);
each body is given its paragraphs two or three times so that every letter runs to two
pages. Timed: rendering the 1,000 PDF files and writing them to disk (each
letter its own PDF/A with its fonts embedded), then the same letters as one
combined PDF. For comparison the same letters without the Chinese ones (which
ReportLab could not draw) go through both engines: Typst, and the ReportLab
module as it was at commit OLD_ENGINE, read with ``git show`` into a
temporary folder (nothing of it is kept).

The whole command is timed too, as a coordinator runs it: ``outreach
letters generate --out DIR --format pdf`` in a subprocess, for 1,000
recipients of a fresh SQLite database, from a template that gives the shipped
letter's body two or three times (two pages, every part of the letterhead).
The target is for this figure.

    python bench/bench_pdf.py [-n 1000] [--no-compare]

Exits 1 when the target is missed or a letter is not two pages long.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from outreach.render.doc import LetterDoc

TARGET = 4.0
LANGS = ["en", "fr", "es", "ar", "ru", "zh", "pt"]
#: The last commit whose outreach/render/pdf.py drew letters with ReportLab.
OLD_ENGINE = "8202df7"
ROOT = Path(__file__).resolve().parent.parent


#: How many times each language's letter repeats its own paragraphs to run to
#: two pages (Chinese and Arabic set more words to a page).
REPEATS = {"zh": 4, "ar": 3, "en": 3}


def two_pages(body: str, language: str) -> str:
    """*body* with the letter's own paragraphs (between salutation and closing)
    repeated, so that the letter runs to two pages."""
    parts = body.split("\n\n")
    own = [i for i, part in enumerate(parts) if not part.lstrip().startswith(":::")]
    first, last = own[0], own[-1] + 1
    middle = parts[first:last]
    return "\n\n".join(parts[:first] + middle * REPEATS.get(language, 2) + parts[last:])


def make_docs(n: int, languages: Sequence[str] = LANGS) -> list[LetterDoc]:
    """Render n letters through the real templates (no database needed)."""
    from outreach.letters.jobs import Job
    from outreach.letters.renderer import Renderer
    from outreach.schema.models import Campaign, Dialogue, UNBody
    from outreach.templating import Record

    dialogue = Dialogue(
        slug="ga-2012",
        body=UNBody.GENERAL_ASSEMBLY,
        title="Informal interactive dialogue on the responsibility to protect",
        date=dt.date(2012, 9, 5),
        report_symbol="A/66/874-S/2012/578",
    )
    campaign = Campaign(
        slug="bench",
        title="Bench",
        template="third-pillar",
        default_language="en",
        signatory="Jane Coordinator",
        sender={"organization": "Coalition for RtoP", "email": "info@coalition.example"},
        variables={"reply_by": {"$date": "2012-06-15"}},
    )
    campaign.dialogue = dialogue
    renderer = Renderer(
        campaign, "third-pillar", dialogue=dialogue, templates=None, today=dt.date(2012, 3, 20)
    )
    docs = []
    for i in range(n):
        lang = languages[i % len(languages)]
        org = Record(
            id=i,
            acronym=f"ORG{i}",
            name=f"Regional Organization {i}",
            kind="regional",
            region="africa",
            region_label="Africa",
            hq_city=None,
            hq_country=None,
            languages=[lang],
            website=None,
            tags=[],
        )
        contact = Record(
            id=i,
            kind="person",
            name=f"Secretary-General {i}",
            position="Secretary-General",
            salutation=None,
            email=f"sg{i}@example.org",
            postal_address=None,
            phone=None,
            language=lang,
        )
        compiled, text = renderer.render(Job(org=org, contact=contact))
        docs.append(
            LetterDoc(
                acronym=org["acronym"],
                organization=org["name"],
                contact=contact["name"],
                contact_email=contact["email"],
                language=compiled.language,
                subject=text.subject,
                body=two_pages(text.body, compiled.language),
                channel="email",
                to_address=contact["email"],
                message_id=f"<{i}@example.org>",
                sender=renderer.base["sender"],
                round=0,
                campaign="bench",
                organization_id=i,
                date=dt.date(2012, 3, 20),
            )
        )
    return docs


def cpu() -> float:
    """CPU seconds of this process and its finished workers."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def timed(render: Callable[[], list[tuple[str, bytes]]]) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of rendering and writing the files *render* makes."""
    out = Path(tempfile.mkdtemp(prefix="outreach-pdf-"))
    try:
        start, cpu0 = time.perf_counter(), cpu()
        outputs = render()
        for name, data in outputs:
            (out / name).write_bytes(data)
        return time.perf_counter() - start, cpu() - cpu0, sum(len(d) for _n, d in outputs)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def typst_files(docs: list[LetterDoc]) -> list[tuple[str, bytes]]:
    from outreach.render import render_outputs

    return render_outputs(docs, formats=["pdf"])


def old_engine(folder: Path) -> Callable[[list[LetterDoc]], list[tuple[str, bytes]]] | None:
    """The ReportLab engine of OLD_ENGINE, run as it was: forked workers, each
    letter its own PDF. None when it cannot be loaded here."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{OLD_ENGINE}:outreach/render/pdf.py"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "reportlab_pdf.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("outreach_bench_reportlab_pdf", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.FONTS_DIR = ROOT / "outreach" / "fonts"  # its fonts are still these
        module._setup()
    except ImportError:
        return None

    _OLD[:] = [module]

    def render(docs: list[LetterDoc]) -> list[tuple[str, bytes]]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        workers = min(os.cpu_count() or 1, 8)
        size = -(-len(docs) // (workers * 4))
        chunks = [docs[i : i + size] for i in range(0, len(docs), size)]
        made: list[bytes] = []
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for part in pool.map(_old_chunk, chunks):
                made.extend(part)
        return [(f"{doc.acronym}.pdf", data) for doc, data in zip(docs, made, strict=True)]

    return render


#: The loaded ReportLab module, inherited by the forked workers.
_OLD: list[object] = []


def _old_chunk(docs: list[LetterDoc]) -> list[bytes]:
    return [_OLD[0].to_pdf([doc]) for doc in docs]  # type: ignore[attr-defined]


def whole_command(n: int) -> tuple[float, int, int]:
    """(wall seconds, PDF files, pages of the first seven) of ``outreach
    letters generate --format pdf`` for *n* recipients, start-up included."""
    import bench_generate

    from outreach.db import Database

    with tempfile.TemporaryDirectory(prefix="outreach-bench-pdf-") as tmp:
        folder = Path(tmp)
        templates = folder / "templates"
        templates.mkdir()
        for lang in LANGS:
            suffix = "" if lang == "en" else f".{lang}"
            again = "\n\n".join(["{{ super() }}"] * REPEATS.get(lang, 2))
            (templates / f"long{suffix}.md.j2").write_text(
                f'{{% extends "third-pillar{suffix}.md.j2" %}}'
                f"{{% block body %}}{again}{{% endblock %}}",
                encoding="utf-8",
            )
        url = str(folder / "bench.db")
        db = Database(url, check_schema=False)
        db.init()
        bench_generate.LANGS = LANGS  # every shipped language
        bench_generate.populate(db, n)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE campaigns SET template = 'long', templates_folder = ?", (str(templates),)
            )
        db.dispose()
        out = folder / "out"
        exe = Path(sys.executable).with_name("outreach")
        cmd = [str(exe), "--db", url, "letters", "generate", "--campaign", "bench"]
        cmd += ["--out", str(out), "--format", "pdf"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"generate failed:\n{proc.stdout}\n{proc.stderr}")
        from pypdf import PdfReader

        files = sorted(out.glob("*.pdf"))
        pages = sum(len(PdfReader(f).pages) for f in files[:7])
        return elapsed, len(files), pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--no-compare", action="store_true", help="skip the ReportLab run")
    args = parser.parse_args()
    from pypdf import PdfReader

    from outreach.render.pdf import to_pdf

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    command_s, files, first_pages = whole_command(args.n)
    print(
        f"outreach letters generate --format pdf: {files} letters in {command_s:.2f} s "
        f"(whole command, database included; the first seven have {first_pages} pages); "
        f"target {TARGET:.1f} s"
    )
    docs = make_docs(args.n)
    elapsed, used, size = timed(lambda: typst_files(docs))
    start = time.perf_counter()
    combined = to_pdf(docs)
    combined_s = time.perf_counter() - start
    pages = len(PdfReader(io.BytesIO(combined)).pages)
    print(
        f"Typst: {args.n} two-page PDF/A letters ({'/'.join(LANGS)}) in {elapsed:.2f} s wall, "
        f"{used:.2f} s CPU ({elapsed / args.n * 1000:.1f} ms each, "
        f"{size / args.n / 1024:.0f} KiB each); combined PDF of {pages} pages in "
        f"{combined_s:.2f} s; target {TARGET:.1f} s"
    )
    if not args.no_compare:
        compare(args.n)
    if pages != 2 * args.n or files != args.n or first_pages != 14:
        print(f"expected two pages per letter, got {pages} pages for {args.n} letters")
        return 1
    return 0 if command_s < TARGET else 1


def compare(n: int) -> None:
    """Both engines on the same letters, Chinese left out (ReportLab refused it)."""
    docs = make_docs(n, [lang for lang in LANGS if lang != "zh"])
    with tempfile.TemporaryDirectory(prefix="outreach-old-pdf-") as folder:
        old = old_engine(Path(folder))
        if old is None:
            print(f"ReportLab engine of {OLD_ENGINE}: could not be loaded, not compared")
            return
        rows = [("Typst", lambda: typst_files(docs)), ("ReportLab", lambda: old(docs))]
        print(f"side by side, {n} two-page letters without Chinese:")
        for name, render in rows:
            elapsed, used, size = timed(render)
            print(
                f"  {name:<9} {elapsed:5.2f} s wall {used:5.2f} s CPU "
                f"{elapsed / n * 1000:5.1f} ms each {size / n / 1024:4.0f} KiB each"
            )


if __name__ == "__main__":
    sys.exit(main())
