"""Wires the services together once per process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from townhall.config import Settings
from townhall.domain import plans
from townhall.domain.principal import Principal
from townhall.infrastructure import probes
from townhall.infrastructure.clock import Clock
from townhall.infrastructure.events import EventBus, make_event_bus
from townhall.infrastructure.filestore import FileStore
from townhall.infrastructure.filestore.local import LocalFileStore
from townhall.infrastructure.mail import make_mailer
from townhall.infrastructure.mailstore import MailStore
from townhall.infrastructure.mailstore.dovecot import DovecotStore
from townhall.infrastructure.mailstore.maildir import MaildirStore
from townhall.infrastructure.passwords import Passwords
from townhall.infrastructure.probes import Probe
from townhall.infrastructure.readcache import make_read_cache
from townhall.infrastructure.throttle import make_throttle
from townhall.services.address_books import AddressBookService
from townhall.services.analytics import AnalyticsService
from townhall.services.announcements import AnnouncementService
from townhall.services.audit import AuditService
from townhall.services.auth import AuthService, LoginLimits
from townhall.services.avatars import AvatarService
from townhall.services.backup import BackupService
from townhall.services.barriers import BarrierService
from townhall.services.base import Deps
from townhall.services.bookings import BookingService
from townhall.services.brands import BrandService
from townhall.services.caching import CacheService
from townhall.services.calendars import CalendarService
from townhall.services.catalogue import CatalogueService
from townhall.services.certificates import CertificateService
from townhall.services.cluster import ClusterService
from townhall.services.contacts import ContactService
from townhall.services.disclaimers import DisclaimerService
from townhall.services.domains import DomainService
from townhall.services.entitlements import EntitlementService
from townhall.services.files import FileService
from townhall.services.forwards import ForwardService
from townhall.services.groups import GroupService
from townhall.services.invitations import InvitationService
from townhall.services.jobs import JobService
from townhall.services.mail_routing import MailRoutingService
from townhall.services.mailboxes import MailboxService
from townhall.services.messages import MessageService
from townhall.services.notifications import NotificationService
from townhall.services.people import PeopleService
from townhall.services.plans import PlanService
from townhall.services.presence import PresenceService
from townhall.services.properties import PropertyService
from townhall.services.resources import ResourceService
from townhall.services.rooms import RoomService
from townhall.services.search import SearchService
from townhall.services.sender_lists import SenderListService
from townhall.services.subscriptions import SubscriptionService
from townhall.services.tenants import TenantService
from townhall.store.database import Database, open_database
from townhall.store.file_chunks import DatabaseFileStore


def mail_store(settings: Settings) -> MailStore:
    """The mail store `TOWNHALL_MAIL_STORE` names: embedded Maildirs or Dovecot."""
    if settings.mail_store == "dovecot":
        if not (settings.doveadm_url and settings.doveadm_key and settings.lmtp):
            raise ValueError(
                "TOWNHALL_MAIL_STORE=dovecot needs TOWNHALL_DOVEADM_URL, "
                "TOWNHALL_DOVEADM_KEY and TOWNHALL_LMTP"
            )
        return DovecotStore(settings.doveadm_url, settings.doveadm_key, settings.lmtp)
    if settings.mail_store != "maildir":
        raise ValueError("TOWNHALL_MAIL_STORE must be maildir or dovecot")
    return MaildirStore(settings.mail_folder)


def readiness(settings: Settings, mail: MailStore) -> dict[str, Probe]:
    """What `/readyz` checks besides the database and Redis, by name: the listeners
    that are on, and Dovecot where it holds the mail."""
    found = {
        "smtp": probes.smtp(settings.smtp_listen),
        "mta_policy": probes.mta_policy(settings.mta_policy_listen),
        "dovecot": mail.answers if isinstance(mail, DovecotStore) else None,
    }
    return {name: probe for name, probe in found.items() if probe is not None}


def file_store(settings: Settings, db: Database) -> FileStore:
    """Where people's files are kept (`TOWNHALL_FILE_STORE`): a local folder, or the
    database (every host of a PostgreSQL deployment then serves the same files)."""
    if settings.file_store == "database":
        return DatabaseFileStore(db)
    if settings.file_store != "local":
        raise ValueError("TOWNHALL_FILE_STORE must be local or database")
    return LocalFileStore(settings.files_folder)


@dataclass
class Services:
    deps: Deps
    tenants: TenantService
    brands: BrandService
    mailboxes: MailboxService
    people: PeopleService
    auth: AuthService
    properties: PropertyService
    groups: GroupService
    contacts: ContactService
    address_books: AddressBookService
    rooms: RoomService
    audit: AuditService
    cluster: ClusterService
    presence: PresenceService
    entitlements: EntitlementService
    avatars: AvatarService
    certificates: CertificateService
    disclaimers: DisclaimerService
    barriers: BarrierService
    messages: MessageService
    domains: DomainService
    invitations: InvitationService
    bookings: BookingService
    resources: ResourceService
    calendars: CalendarService
    catalogue: CatalogueService
    search: SearchService
    analytics: AnalyticsService
    subscriptions: SubscriptionService
    forwards: ForwardService
    sender_lists: SenderListService
    mail_routing: MailRoutingService
    announcements: AnnouncementService
    notifications: NotificationService
    files: FileService
    caching: CacheService
    plans: PlanService
    backup: BackupService
    jobs: JobService

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database | None = None,
        clock: Clock | None = None,
        events: EventBus | None = None,
        tenant_defaults: Sequence[Callable[[Services, Principal], Awaitable[None]]] = (),
    ) -> Services:
        """`tenant_defaults`: what each API sets up in a tenant the operator creates
        (the application's `TENANT_DEFAULTS`, which services cannot know)."""
        db = db or open_database(settings.database_url, settings.pool_size)
        deps = Deps(
            db=db,
            clock=clock or Clock(settings.clock_offset_seconds),
            events=events or make_event_bus(settings.redis_url, settings.deployment_name),
            passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
            node=settings.node_name,
            cache=make_read_cache(
                settings.cache,
                settings.redis_url,
                settings.deployment_name,
                settings.workers,
                settings.cache_max_entries,
                db.change_stamp if db.stamps_changes else None,
            ),
        )
        tenants = TenantService(deps)
        mailer = make_mailer(settings.smtp_url)
        mail_routing = MailRoutingService(deps)
        mail = mail_store(settings)
        mailboxes = MailboxService(deps, mail, mailer)
        invitations = InvitationService(mailer, deps.clock, mail_routing, mailboxes)
        groups = GroupService(deps)
        domains = DomainService(deps)
        bookings = BookingService(deps, invitations)
        resources = ResourceService(deps, bookings)
        throttle = make_throttle(
            settings.redis_url, settings.login_failure_window_seconds, settings.deployment_name
        )
        limits = LoginLimits(
            settings.login_failures_per_account, settings.login_failures_per_address
        )
        auth = AuthService(
            deps,
            tenants,
            settings.session_ttl_seconds,
            settings.access_token_ttl_seconds,
            settings.refresh_token_ttl_seconds,
            throttle,
            limits,
            records_mail_logins=settings.mail_store != "dovecot",  # Dovecot records its own
        )
        calendars = CalendarService(deps, invitations)
        people = PeopleService(deps, groups, domains, settings.password_min_length)
        catalogue = plans.load(settings.saas_plans)  # checked at start: ValueError naming it
        resource_catalogue = CatalogueService(deps, resources)
        cluster = ClusterService(deps, bool(settings.redis_url), readiness(settings, mail))
        brands = BrandService(deps, tenants, settings.master_account_override)
        built = cls(
            deps=deps,
            tenants=tenants,
            brands=brands,
            mailboxes=mailboxes,
            people=people,
            auth=auth,
            properties=PropertyService(deps),
            groups=groups,
            contacts=ContactService(deps),
            address_books=AddressBookService(deps, groups),
            rooms=RoomService(deps),
            audit=AuditService(deps),
            cluster=cluster,
            presence=PresenceService(deps),
            entitlements=EntitlementService(deps),
            avatars=AvatarService(deps),
            certificates=CertificateService(deps),
            disclaimers=DisclaimerService(deps),
            barriers=BarrierService(deps),
            messages=MessageService(deps),
            domains=domains,
            invitations=invitations,
            bookings=bookings,
            resources=resources,
            calendars=calendars,
            catalogue=resource_catalogue,
            search=SearchService(deps),
            analytics=AnalyticsService(deps),
            subscriptions=SubscriptionService(
                deps, auth, bookings, calendars, settings.events_auth_timeout_seconds
            ),
            forwards=ForwardService(deps),
            sender_lists=SenderListService(deps),
            mail_routing=mail_routing,
            announcements=AnnouncementService(deps),
            notifications=NotificationService(deps, brands, mailboxes, mailer),
            files=FileService(deps, file_store(settings, deps.db), settings.file_max_bytes),
            caching=CacheService(deps, resources, calendars, people),
            plans=PlanService(
                deps,
                tenants,
                mailboxes,
                cluster,
                catalogue,
                make_throttle(settings.redis_url, 3600, settings.deployment_name),
                settings.saas_registrations_per_address,
                settings.saas_server,
                settings.saas_region,
                settings.saas_location,
                settings.saas_node_capacity,
                settings.password_min_length,
            ),
            backup=(backup := BackupService(deps, tenants, settings.data_folders)),
            jobs=JobService(
                deps,
                resource_catalogue,
                settings.import_job_rows,
                settings.import_job_bytes,
                backup,
                settings.restore_job_bytes,
            ),
        )
        tenants.set_up = [built.on_first_start, *(partial(d, built) for d in tenant_defaults)]
        return built

    async def on_first_start(self, actor: Principal) -> None:
        """What a new tenant starts with in the model (each API adds its own set-up
        through its Dialect's `tenant_defaults`)."""
        await self.rooms.ensure_default_service(actor)

    async def start(self) -> None:
        self.deps.db.start()
        await self.deps.events.start()
        await self.cluster.start()
        self.files.start()
        await self.jobs.start_up()

    async def close(self) -> None:
        await self.jobs.close()
        await self.files.close()
        await self.cluster.stop()
        await self.deps.events.stop()
        await self.deps.cache.close()
        await self.auth.close()
        await self.plans.close()
        await self.deps.db.dispose()
