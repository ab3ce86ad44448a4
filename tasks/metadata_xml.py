"""Metadata API files the steps read or send: package.xml manifests and the app's policy template.

The policy template (``unpackaged/app_policy/connectedApps/*.connectedApp``) is the desired ConnectedApp
policy: which permission sets and profiles get access, admin approval, IP relaxation, refresh token policy
(Metadata API Developer Guide, ConnectedApp).
"""

from pathlib import Path

from lxml import etree

from .errors import SixsenseInputError
from .options import API_NAME_RE

POLICY_TEMPLATE = Path("unpackaged", "app_policy", "connectedApps", "Sixsense.connectedApp")
MD_NS = "http://soap.sforce.com/2006/04/metadata"


def package_xml(md_type: str, members, api_version: str) -> str:
    """A package.xml (manifest) of one metadata type for CumulusCI's ``ApiRetrieveUnpackaged``:
    ``members`` (names, or ``["*"]``), API version ``api_version`` ("65.0"). One element per line: cci's
    class strips ``<Package ...>`` line by line."""
    lines = "".join(f"        <members>{m}</members>\n" for m in members)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{lines}        <name>{md_type}</name>\n    </types>\n"
        f"    <version>{api_version}</version>\n</Package>\n"
    )


def read_policy_template(repo_root) -> dict[str, list[str]]:
    """The access list of the app's desired policy (``unpackaged/app_policy``).

    Returns ``{"permission_sets": [...], "profiles": [...], "is_admin_approved": bool, "ip_relaxation":
    str|None, "refresh_token_policy": str|None}``. Invalid permission set API names raise
    ``SixsenseInputError``.
    """
    path = Path(repo_root or ".", POLICY_TEMPLATE)
    if not path.exists():
        raise SixsenseInputError(f"The app policy template {POLICY_TEMPLATE} is missing.")
    tree = etree.parse(str(path))
    ns = {"md": MD_NS}

    def texts(xpath):
        return [t.strip() for t in tree.xpath(xpath, namespaces=ns) if t and t.strip()]

    permission_sets = texts("/md:ConnectedApp/md:permissionSetName/text()")
    profiles = texts("/md:ConnectedApp/md:profileName/text()")
    bad = [n for n in permission_sets if not API_NAME_RE.match(n)]
    if bad:
        raise SixsenseInputError(
            f"{POLICY_TEMPLATE}: invalid permission set API name(s) {', '.join(bad)}. An API name begins "
            "with a letter and holds only letters, digits and single underscores."
        )
    approved = texts("/md:ConnectedApp/md:oauthConfig/md:isAdminApproved/text()")
    ip = texts("/md:ConnectedApp/md:oauthPolicy/md:ipRelaxation/text()")
    refresh = texts("/md:ConnectedApp/md:oauthPolicy/md:refreshTokenPolicy/text()")
    return {
        "permission_sets": permission_sets,
        "profiles": profiles,
        "is_admin_approved": bool(approved) and approved[0].lower() == "true",
        "ip_relaxation": ip[0] if ip else None,
        "refresh_token_policy": refresh[0] if refresh else None,
    }
