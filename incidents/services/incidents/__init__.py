"""Incidents: built by reviewers from submissions; published to researchers by decision.

Every change is a custody event on `incident:<public id>` (created, edited, merged, split,
published, unpublished); details carry ids and field names, never the reviewer's text.
The location precision is capped at what the linked witnesses' reports allow
(`allowed_precision`, combined with `coarsest`). Researchers only ever get
`PublicIncident`s (`to_public`), made from published, unmerged incidents.

Split by concern into the modules below; this module names the package's public surface,
so callers keep writing `package.function(...)` as they did when it was one module.
"""

from __future__ import annotations

from incidents.services.incidents.changes import (  # noqa: F401
    Linked,
    check_publishable,
    create,
    description_for_edit,
    descriptions,
    history,
    link,
    list_all,
    load,
    merge,
    new_incident_id,
    publish,
    require_reviewer,
    split,
    update,
)
from incidents.services.incidents.input import (  # noqa: F401
    COUNT_MAX,
    TEXT_MAX,
    IncidentInput,
    TimePrecision,
    input_from_submissions,
    parse_input,
)
from incidents.services.incidents.page import (  # noqa: F401
    FormPage,
    PickerFilters,
    form_page,
    incident_choices,
    items_to_pick,
    picker_filters,
    submission_choices,
    values_from_incident,
)
from incidents.services.incidents.precision import (  # noqa: F401
    allowed_precision,
    is_finer,
    precision_cap,
)
from incidents.services.incidents.preview import (  # noqa: F401
    PublishPreview,
    preview,
    publish_previewed,
)
from incidents.services.incidents.public import (  # noqa: F401
    to_public,
    witnesses_consented,
)
