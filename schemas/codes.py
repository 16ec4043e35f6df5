"""Inbound code systems: what the boundary recognizes, and what each code means.

Sources: contract §3–4, rules.md §3, reference/fhir-shapes.md §1.4 and §3.2. NUBC patient
discharge status meanings (UB-04 FL17) were checked against CMS CCW and ResDAC code tables;
the C-SSRS risk answer codes come from LOINC answer list LL465-6 (Low LA9194-7, Moderate
LA6751-7, High LA9193-9).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from pipeline.events import Disposition, Instrument, Risk
from pipeline.levels import Level

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
NOTIFICATION_EVENT: Final = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
V3_ACTCODE: Final = frozenset(
    {"http://terminology.hl7.org/CodeSystem/v3-ActCode", "http://hl7.org/fhir/v3/ActCode"}
)
INPATIENT_CLASSES: Final = frozenset({"IMP", "ACUTE", "NONAC"})
AMBULATORY_CLASS: Final = "AMB"

HCPCS: Final = (
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
)
REVENUE: Final = (
    "https://www.nubc.org/CodeSystem/RevenueCodes",
    "http://www.nubc.org/CodeSystem/RevenueCodes",
)
_HCPCS_LEVELS: Final = {
    "H0035": Level.PHP,
    "S0201": Level.PHP,
    "S9480": Level.IOP,
    "H0015": Level.IOP,
}
_REVENUE_LEVELS: Final = {
    "0912": Level.PHP,
    "0913": Level.PHP,
    "0905": Level.IOP,
    "0906": Level.IOP,
}


@lru_cache(maxsize=8)
def level_table(base: str) -> dict[tuple[str, str], Level]:
    """(system, code) → level for every coding contract §4 accepts, for this ``base``."""
    own = base.rstrip("/") + "/CodeSystem/level-of-care"
    table: dict[tuple[str, str], Level] = {(own, lv.value): lv for lv in Level}
    for system in V3_ACTCODE:
        table.update({(system, c): Level.INPATIENT for c in INPATIENT_CLASSES})
    for system in HCPCS:
        table.update({(system, c): lv for c, lv in _HCPCS_LEVELS.items()})
    for system in REVENUE:
        table.update({(system, c): lv for c, lv in _REVENUE_LEVELS.items()})
        # revenue codes are four digits with a leading zero; some feeds drop it
        table.update({(system, c[1:]): lv for c, lv in _REVENUE_LEVELS.items()})
    return table


# -- assessments (contract §3) -------------------------------------------------------------

#: LOINC code → (instrument, maximum valid value, label used in diagnostics).
INSTRUMENTS: Final[dict[str, tuple[Instrument, int, str]]] = {
    "44261-6": (Instrument.PHQ9, 27, "PHQ-9 total"),
    "44260-8": (Instrument.PHQ9_ITEM9, 3, "PHQ-9 item 9"),
    "70274-6": (Instrument.GAD7, 21, "GAD-7 total"),
    "75626-2": (Instrument.AUDITC, 12, "AUDIT-C total"),
    "93374-7": (Instrument.CSSRS, Risk.HIGH, "C-SSRS risk level"),
}
#: PHQ-9 item answers (LOINC answer list LL358-3, frequency 0–3).
ITEM9_ANSWERS: Final = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
#: C-SSRS "suicide risk level" answers (LOINC LL465-6).
CSSRS_ANSWERS: Final = {"LA9194-7": Risk.LOW, "LA6751-7": Risk.MODERATE, "LA9193-9": Risk.HIGH}
#: Words accepted as a code or text, compared after ``strip().lower()``. A negative screen
#: (``none``, ``no risk``, ``negative``) is an assessment with value 0, never a dead letter.
CSSRS_WORDS: Final = {
    "none": Risk.NONE,
    "no risk": Risk.NONE,
    "negative": Risk.NONE,
    "low": Risk.LOW,
    "moderate": Risk.MODERATE,
    "high": Risk.HIGH,
    "low risk": Risk.LOW,
    "moderate risk": Risk.MODERATE,
    "high risk": Risk.HIGH,
}
ASSESSED_STATUSES: Final = frozenset({"final", "amended", "corrected"})

# -- discharge disposition (rules.md §3) ---------------------------------------------------

THO_DISPOSITION: Final = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/discharge-disposition",
        "http://hl7.org/fhir/discharge-disposition",
    }
)
_THO: Final = {
    "other-hcf": Disposition.TRANSFER,
    "hosp": Disposition.TRANSFER,
    "long": Disposition.TRANSFER,
    "psy": Disposition.TRANSFER,
    "rehab": Disposition.TRANSFER,
    "snf": Disposition.TRANSFER,
    "exp": Disposition.EXPIRED,
    "aadvice": Disposition.AGAINST_ADVICE,
}
#: NUBC UB-04 FL17 patient discharge status, in every system URL seen in real feeds:
#: THO canonical, Da Vinci's example, Synthea, and their http/https twins.
NUBC_DISPOSITION: Final = frozenset(
    {
        "https://www.nubc.org/CodeSystem/PatDischargeStatus",
        "http://www.nubc.org/CodeSystem/PatDischargeStatus",
        "http://terminology.hl7.org/CodeSystem/nubc-UB92",
        "http://www.nubc.org/patient-discharge",
        "https://www.nubc.org/patient-discharge",
    }
)
_NUBC_TRANSFER: Final = (
    "02 03 04 05 09 43 50 51 61 62 63 64 65 66 69 70 82 83 84 85 88 89 90 91 92 93 94 95"
)
_NUBC: Final = {
    **{c: Disposition.TRANSFER for c in _NUBC_TRANSFER.split()},
    **{c: Disposition.EXPIRED for c in ("20", "40", "41", "42")},
    "07": Disposition.AGAINST_ADVICE,
}


def disposition_of(system: str | None, code: str) -> Disposition | None:
    """The class of one coding, or ``None`` when its system is not a disposition system.

    Codes of a known system that are not listed (``home``, NUBC ``01``, ``06``, ``21``,
    ``30``…) are a discharge to the community.
    """
    if system in THO_DISPOSITION:
        return _THO.get(code, Disposition.COMMUNITY)
    if system in NUBC_DISPOSITION:
        key = code.strip().zfill(2)
        return _NUBC.get(key, Disposition.COMMUNITY)
    return None


# -- R4 value sets (required bindings) of the status fields the pipeline reads ---------------
# A code outside them is a typo or another FHIR release, not a status to ignore: ignoring it
# would drop a score or a discharge without a dead letter.


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


TASK_STATUSES: Final = _codes(
    "draft requested received accepted rejected ready cancelled in-progress on-hold failed"
    " completed entered-in-error"
)
OBSERVATION_STATUSES: Final = _codes(
    "registered preliminary final amended corrected cancelled entered-in-error unknown"
)
ENCOUNTER_STATUSES: Final = _codes(
    "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown"
)
APPOINTMENT_STATUSES: Final = _codes(
    "proposed pending booked arrived fulfilled cancelled noshow entered-in-error checked-in"
    " waitlist"
)
EPISODE_STATUSES: Final = _codes(
    "planned waitlist active onhold finished cancelled entered-in-error"
)
#: R4 Bundle.type, plus R5's subscription-notification (ignored like the other non-entrywise)
BUNDLE_TYPES: Final = _codes(
    "document message transaction transaction-response batch batch-response history"
    " searchset collection subscription-notification"
)
