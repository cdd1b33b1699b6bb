"""dossier.pdf, typeset with ReportLab in DejaVu (or Noto) so Kazakh and Russian letters
render (ә, ғ, қ, ң, ө, ұ, ү, һ, і and the whole Cyrillic block are in both).

Every value is escaped before it reaches ReportLab's paragraph markup: names, excerpts and
reasons are text written by people, never markup. Hashes are set on their own line in a
monospaced face so that they are never broken (a reader's `pdftotext` finds them whole).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

from incidents.core.errors import N_, ServiceUnavailable
from incidents.services.actors.involvements import CitationView, InvolvementView
from incidents.services.dossiers.content import (
    CHAIN_KIND,
    ChainPart,
    DossierContent,
    shown_citation,
)

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
# (regular, bold, mono) file names per family, in order of preference.
FAMILIES = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSansMono-Regular.ttf"),
)
_REGISTERED: list[str] = []


def _fonts() -> tuple[str, str, str]:
    """Register the first complete family found; ServiceUnavailable when there is none."""
    if _REGISTERED:
        return _REGISTERED[0], _REGISTERED[1], _REGISTERED[2]
    for family in FAMILIES:
        paths = [next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
                 for name in family]
        if all(paths):
            names = ("Dossier", "Dossier-Bold", "Dossier-Mono")
            for name, path in zip(names, paths, strict=True):
                assert path is not None
                pdfmetrics.registerFont(TTFont(name, str(path)))
            _REGISTERED[:] = names
            return names
    raise ServiceUnavailable(N_("No font for Cyrillic text is installed (fonts-dejavu-core "
                                "or fonts-noto-core); the dossier cannot be made."))


class _Styles:
    def __init__(self) -> None:
        regular, bold, mono = _fonts()
        self.title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20,
                                    spaceAfter=6)
        self.h1 = ParagraphStyle("h1", fontName=bold, fontSize=13, leading=16, spaceBefore=10,
                                 spaceAfter=4)
        self.h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=6,
                                 spaceAfter=2)
        self.body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5,
                                   alignment=TA_LEFT)
        self.quote = ParagraphStyle("quote", parent=self.body, leftIndent=8 * mm,
                                    textColor="#222222")
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8.5, leading=11)
        self.mono = ParagraphStyle("mono", fontName=mono, fontSize=7.5, leading=10,
                                   leftIndent=8 * mm)


def _t(value: object) -> str:
    """Plain text for a paragraph: escaped, line breaks kept."""
    return escape(str(value)).replace("\n", "<br/>")


def _range(start: str | None, end: str | None) -> str:
    if not start and not end:
        return "dates not recorded"
    return f"{start or '…'} – {end or 'present'}"


def _locator(c: CitationView) -> str:
    parts = []
    if c.time_start is not None or c.time_end is not None:
        parts.append(f"video {_clock(c.time_start)}–{_clock(c.time_end)}")
    if c.page is not None:
        parts.append(f"page {c.page}")
    return ", ".join(parts)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    whole, ms = divmod(round(seconds * 1000), 1000)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{ms:03d}"


def _citations(s: _Styles, content: DossierContent, citations: Iterable[CitationView]
               ) -> list[Flowable]:
    out: list[Flowable] = []
    for original in citations:
        c = shown_citation(content, original)
        exhibit = next((e for e in content.exhibits if e.item == c.item), None)
        ref = content.exhibit_ref(c.item)
        if exhibit is not None and exhibit.withheld:
            out.append(Paragraph(_t(f"Exhibit {ref} ({c.item}): withheld — {exhibit.withheld}."),
                                 s.small))
            continue
        grade = f"; grade {exhibit.grade}" if exhibit and exhibit.grade else "; not graded"
        witness = f", witness {exhibit.witness}" if exhibit and exhibit.witness else ""
        where = f", {_locator(c)}" if _locator(c) else ""
        out.append(Paragraph(_t(f"Exhibit {ref} ({c.item}{witness}{where}{grade})"), s.small))
        if c.excerpt:
            out.append(Paragraph(_t(f"Original: “{c.excerpt}”"), s.quote))
        for t in c.translations:
            out.append(Paragraph(_t(f"Translation ({t.language}, by reviewer {t.translator}, "
                                    f"{t.date}): “{t.text}”"), s.quote))
    return out


def _link(s: _Styles, content: DossierContent, v: InvolvementView) -> list[Flowable]:
    status = "alleged (uncited)" if v.uncited else v.status
    out: list[Flowable] = [Paragraph(_t(
        f"Role: {v.role.replace('_', ' ')} — status: {status}. Kind of involvement "
        f"(GHR Sanctions Regulations 2020, reg. 6): {content.ghr_kind(v.role)}."), s.body)]
    for change in v.changes:
        moved = f"{change.old} → {change.new}" if change.old else f"recorded as {change.new}"
        why = f": {change.reason}" if change.reason else ""
        out.append(Paragraph(_t(f"{change.at[:10]}, reviewer {change.by}, {moved}{why}"),
                             s.small))
    if not v.citations:
        out.append(Paragraph(_t("No evidence is cited for this link: it is an allegation "
                                "only."), s.small))
    out += _citations(s, content, v.citations)
    return out


def _chain(s: _Styles, parts: list[ChainPart], content: DossierContent) -> list[Flowable]:
    out: list[Flowable] = []
    for p in parts:
        decision = {"confirmed": "confirmed by a lawyer", "rejected": "rejected by a lawyer"
                    }.get(p.decision or "", "derived, not yet reviewed")
        refs = ", ".join(content.exhibit_ref(i) for i in p.citations) or "no evidence cited"
        out.append(Paragraph(_t(
            f"{p.incident} ({p.incident_title}) — level {p.level}: {p.unit_name} [{p.unit}] "
            f"commanded by {p.commander_name} [{p.commander}], post {p.post}, "
            f"{_range(p.start, p.end)}; {decision}; evidence for the post: {refs}."), s.body))
        if p.reason:
            out.append(Paragraph(_t(f"Reason: {p.reason}"), s.small))
    return out


def render(content: DossierContent, *, created: str) -> bytes:
    """The dossier as PDF bytes."""
    s = _Styles()
    a = content.actor
    story: list[Flowable] = [
        Paragraph(_t(f"Dossier: {a.name}"), s.title),
        Paragraph(_t(f"Dossier {content.dossier_id}, made {created}. Actor {a.id} ({a.kind}"
                     f"{', ' + a.force.replace('_', ' ') if a.force else ''}). Evidence bundle "
                     f"{content.bundle_id} (in this ZIP; check it with "
                     f"python3 {content.bundle_id}/verify.py {content.bundle_id})."), s.small),
        Paragraph(_t("Prepared for a submission on designation under the UK Global Human "
                     "Rights Sanctions Regulations 2020 (SI 2020/680), regulation 6 "
                     "(involved persons). Witnesses are named only as W1, W2…; items "
                     "without their consent to legal use are withheld."), s.small),
        Paragraph("1. Identifying information", s.h1),
        Paragraph(_t(f"Name (Latin): {a.name_latin or '—'}"), s.body),
        Paragraph(_t(f"Name (Cyrillic): {a.name_cyrillic or '—'}"), s.body),
        Paragraph(_t(f"Aliases: {', '.join(a.aliases) or '—'}"), s.body),
        Paragraph(_t(f"Transliterations: {', '.join(a.transliterations) or '—'}"), s.body),
        Paragraph(_t(f"Identifying details: {a.details or '—'}"), s.body),
    ]
    if a.photos:
        story.append(Paragraph(_t("Photographs: " + ", ".join(
            f"exhibit {content.exhibit_ref(p)} ({p})" for p in a.photos)), s.body))
    story.append(Paragraph("2. Positions and affiliations", s.h1))
    if not a.posts:
        story.append(Paragraph("None recorded.", s.body))
    for p in a.posts:
        other = p.target if p.actor == a.id else p.actor
        title = " ".join(x for x in (p.rank, p.position) if x)
        story.append(Paragraph(_t(
            f"{p.kind.replace('_', ' ')}: {a.names.get(other, other)} [{other}], "
            f"{_range(p.start, p.end)}{'; ' + title if title else ''} (post {p.id})"), s.body))
    story.append(Paragraph("3. Incidents and the link to each", s.h1))
    if not content.incidents:
        story.append(Paragraph("No incident is linked directly.", s.body))
    for part in content.incidents:
        story.append(Paragraph(_t(f"{part.id}: {part.title}"), s.h2))
        story.append(Paragraph(_t(
            f"When: {part.start}{' to ' + part.end if part.end else ''}. Where: {part.place}. "
            f"Categories: {', '.join(part.categories) or '—'}."), s.body))
        if part.via_chain:
            story.append(Paragraph(_t("Linked through the derived command chain only (section "
                                      f"4). Kind of involvement: {CHAIN_KIND}."), s.body))
        for v in part.links:
            story += _link(s, content, v)
        story.append(Spacer(1, 2 * mm))
    story.append(Paragraph("4. Command chain", s.h1))
    story.append(Paragraph(_t(f"Derived from unit membership and command posts valid on "
                              f"the day of each incident. Kind of involvement: {CHAIN_KIND}."),
                           s.small))
    story += _chain(s, content.chain, content) or [Paragraph("No command link derived.",
                                                             s.body)]
    story.append(Paragraph("5. Exculpatory and contradicting evidence", s.h1))
    if not content.exculpatory and not content.rejected_chain:
        story.append(Paragraph("No link has been disputed or rejected.", s.body))
    for v in content.exculpatory:
        story.append(Paragraph(_t(f"{v.incident}: link {v.id}"), s.h2))
        story += _link(s, content, v)
    story += _chain(s, content.rejected_chain, content)
    story.append(Paragraph("6. Exhibits", s.h1))
    story.append(Paragraph(_t("Each exhibit's SHA-256 is that of the original file at the "
                              "path given inside this ZIP (sha256sum prints the same)."),
                           s.small))
    for e in content.exhibits:
        if e.withheld:
            story.append(Paragraph(_t(f"{e.number}: {e.item} — withheld ({e.withheld})"),
                                   s.body))
            continue
        story.append(Paragraph(_t(f"{e.number}: {e.item} ({e.kind}, witness {e.witness}"
                                  f"{', grade ' + e.grade if e.grade else ''})"), s.body))
        story.append(Paragraph(_t(f"SHA-256 {e.sha256}"), s.mono))
        story.append(Paragraph(_t(f"Path {e.path}"), s.mono))
    if not content.exhibits:
        story.append(Paragraph("No evidence is cited.", s.body))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"Dossier {content.dossier_id}", author="",
                            subject="Sanctions dossier", creator="incidents")
    doc.build(story)
    return out.getvalue()
