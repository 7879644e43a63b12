"""Time PDF output of 1,000 one-page letters (target: under 3 s).

The letters come from the shipped third-pillar template for 1,000 recipients
whose languages cycle through English, French, Spanish and Arabic. Timed:
rendering the 1,000 PDF files and writing them to disk (each letter its own
PDF with its fonts embedded), then the same letters as one combined PDF.

    python bench/bench_pdf.py [-n 1000]

Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from outreach.render.doc import LetterDoc

TARGET = 3.0
LANGS = ["en", "fr", "es", "ar"]


def make_docs(n: int) -> list[LetterDoc]:
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
        lang = LANGS[i % len(LANGS)]
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
                body=text.body,
                channel="email",
                to_address=contact["email"],
                message_id=f"<{i}@example.org>",
                sender=renderer.base["sender"],
                round=0,
                campaign="bench",
                organization_id=i,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    docs = make_docs(args.n)
    from outreach.render import render_outputs
    from outreach.render.pdf import to_pdf

    to_pdf(docs[:1])  # fonts are registered once per process; count that below anyway
    out = Path(tempfile.mkdtemp(prefix="outreach-pdf-"))
    try:
        start, cpu0 = time.perf_counter(), cpu()
        outputs = render_outputs(docs, formats=["pdf"])
        for name, data in outputs:
            (out / name).write_bytes(data)
        elapsed, used = time.perf_counter() - start, cpu() - cpu0
        size = sum(len(d) for _n, d in outputs)
        start = time.perf_counter()
        combined = to_pdf(docs)
        combined_s = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    import io

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(combined)).pages)
    print(
        f"{args.n} PDF letters (en/fr/es/ar) in {elapsed:.2f} s wall, {used:.2f} s CPU "
        f"({elapsed / args.n * 1000:.1f} ms each, {size / args.n / 1024:.0f} KiB each); "
        f"combined PDF of {pages} pages in {combined_s:.2f} s; target {TARGET:.1f} s"
    )
    if pages != args.n:
        print(f"expected one page per letter, got {pages} pages")
        return 1
    return 0 if elapsed < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
