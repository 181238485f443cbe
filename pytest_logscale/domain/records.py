"""The things the fake holds: organizations, users, sessions, credentials, and their vocabulary."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ADMIN_ACTIONS",
    "ALL_ACTIONS",
    "CHANGE_SESSIONS",
    "MEMBER_ACTIONS",
    "VIEW_SESSION_SETTINGS",
    "Credential",
    "Ending",
    "Level",
    "Order",
    "Organization",
    "RevocationType",
    "Role",
    "Session",
    "SessionSettings",
    "SortBy",
    "User",
]

#: Every ``OrganizationAction`` of LogScale's schema, in the schema's order.
ALL_ACTIONS: tuple[str, ...] = (
    "AdministerPermissions",
    "CreateRepository",
    "CreateView",
    "ChangeReadOnlyDashboardFilter",
    "CreateUser",
    "ConfigureIdp",
    "ChangeSessions",
    "ChangeOrganizationSettings",
    "CreateTrialRepository",
    "UseCustomEmailTemplate",
    "ViewLoginBridge",
    "ViewUsage",
    "ConfigureIPFilters",
    "DeleteRepositoryOrView",
    "ChangeFleetManagement",
    "ViewFleetManagement",
    "UseRemoteUpdates",
    "UseFleetRemoteDebug",
    "UseFleetEphemeralHosts",
    "UseFleetLabels",
    "ChangeTriggersToRunAsOtherUsers",
    "ChangeEventForwarders",
    "ViewRunningQueries",
    "BlockQueries",
    "AdministerTokens",
    "ManageUsers",
    "ViewIpFilters",
    "DownloadMacOsInstaller",
    "ChangeSecurityPolicies",
    "QueryAssistant",
    "OrganizationQueryOwnershipEnabled",
    "UsePersonalToken",
    "ChangeExternalFunctions",
    "AddFederatedView",
    "ViewFalconDataConnectorUrl",
    "ManageSchemas",
    "ExternalFunctionsEnabled",
    "ViewOrganizationSettings",
    "ViewSecurityPolicies",
    "ViewSessionSettings",
    "ViewUsers",
    "ViewPermissions",
    "ViewIdp",
    "ViewOrganizationTokens",
    "ViewDeletedRepositoriesOrViews",
    "ViewEventForwarders",
    "ViewSchemas",
    "UseFleetOverviewDashboards",
    "UseFleetDashboardsPage",
    "UseFleetTablePageUI",
    "GranularPermissionsUI",
    "UseFleetMetricsMigration",
)

CHANGE_SESSIONS = "ChangeSessions"
VIEW_SESSION_SETTINGS = "ViewSessionSettings"

#: What a seeded admin may do: sessions and users, not the organization itself.
ADMIN_ACTIONS: frozenset[str] = frozenset(
    {
        CHANGE_SESSIONS,
        VIEW_SESSION_SETTINGS,
        "ViewUsers",
        "ManageUsers",
        "CreateUser",
        "ViewPermissions",
        "ViewOrganizationSettings",
        "ViewRunningQueries",
        "CreateRepository",
        "CreateView",
        "UsePersonalToken",
        "QueryAssistant",
    }
)

#: What a seeded member may do: nothing that touches sessions or users.
MEMBER_ACTIONS: frozenset[str] = frozenset({"CreateView", "UsePersonalToken", "QueryAssistant"})


class Role(str, enum.Enum):
    """A seeded user's role in the organization; it fixes the permissions."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def actions(self) -> frozenset[str]:
        """The organization permissions this role holds."""
        if self is Role.OWNER:
            return frozenset(ALL_ACTIONS)
        return ADMIN_ACTIONS if self is Role.ADMIN else MEMBER_ACTIONS


class Level(str, enum.Enum):
    """``Sessions__Filter_Level``."""

    ORGANIZATION = "Organization"
    USER = "User"


class SortBy(str, enum.Enum):
    """``Sessions__SortBy``."""

    LAST_ACTIVITY_TIME = "LastActivityTime"
    LOGIN_TIME = "LoginTime"
    IP_ADDRESS = "IPAddress"
    LOCATION = "Location"
    CLIENT_INFO = "ClientInfo"
    USER = "User"


class Order(str, enum.Enum):
    """``OrderBy``."""

    DESC = "DESC"
    ASC = "ASC"


class RevocationType(str, enum.Enum):
    """``SessionRevocation__Type``."""

    ORGANIZATION = "Organization"
    USER = "User"
    SESSION = "Session"


class Ending(str, enum.Enum):
    """Why a session ended. Ended sessions are kept, never deleted."""

    LOGGED_OUT = "logged_out"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """An organization's session limits, in milliseconds."""

    max_inactivity_period: int
    force_reauthentication_after: int


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization. ``domain`` is where its users' e-mail addresses live."""

    id: str
    name: str
    domain: str
    settings: SessionSettings
    cid: str | None = None
    description: str | None = None
    created_at: int | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A user of one organization; ``created_at`` is in epoch milliseconds."""

    id: str
    organization_id: str
    username: str
    display_name: str
    role: Role
    created_at: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    phone_number: str | None = None
    picture: str | None = None
    country_code: str | None = None
    state_code: str | None = None
    company: str | None = None
    is_root: bool = False

    @property
    def is_org_root(self) -> bool:
        """Owners are organization roots."""
        return self.role is Role.OWNER

    @property
    def permissions(self) -> frozenset[str]:
        """The organization permissions the user holds."""
        return self.role.actions


@dataclass(frozen=True, slots=True)
class Session:
    """A login session. Times are epoch milliseconds; ``ended`` is None while not ended."""

    id: str
    user_id: str
    organization_id: str
    token: str
    client_info: str
    ip: str
    city: str | None
    country: str | None
    created_at: int | None
    last_activity_at: int | None
    ended: Ending | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """What a token stands for: a session token names its session, a personal API token none."""

    user_id: str
    session_id: str | None = None
