-- Tenancy: SaaS owner -> ISP -> reseller -> end-user IPs, and every table the
-- collector, alerter and API share. Row-level security is the one place where
-- tenant isolation is decided: every policy goes through bandwatch_can_read /
-- bandwatch_can_write, which read memberships as their (definer) owner.

create extension if not exists pgcrypto;

-- Inventory ------------------------------------------------------------------

create table public.isps (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null,
  ops_contacts jsonb not null default '[]'::jsonb,
  -- Per-ISP alert threshold overrides: {yellow_percent, red_percent, uplink_threshold_mbps}.
  thresholds jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.devices (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null references public.isps (id) on delete cascade,
  name text not null unique,
  host text not null,
  port integer not null default 161 check (port between 1 and 65535),
  auth_ref text not null,
  uplink_capacity_mbps numeric check (uplink_capacity_mbps > 0),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, isp_id)
);
create index devices_isp_id_idx on public.devices (isp_id);

create table public.resellers (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null references public.isps (id) on delete cascade,
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null,
  committed_mbps numeric not null check (committed_mbps > 0),
  contacts jsonb not null default '[]'::jsonb,
  thresholds jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, isp_id)
);
create index resellers_isp_id_idx on public.resellers (isp_id);

create table public.reseller_vlans (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null,
  reseller_id uuid not null,
  device_id uuid not null,
  match_kind text not null check (match_kind in ('if_name', 'if_name_regex', 'if_alias', 'if_alias_regex', 'vlan_id')),
  match_value text not null,
  -- Written by the collector's binding step; the rule above is what operators own.
  bound_if_index integer,
  bound_if_name text,
  bound_at timestamptz,
  binding_error text,
  created_at timestamptz not null default now(),
  -- Composite keys keep a VLAN on a device and a reseller of the same ISP.
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade,
  foreign key (device_id, isp_id) references public.devices (id, isp_id) on delete cascade on update cascade,
  unique (reseller_id, device_id, match_kind, match_value)
);
create index reseller_vlans_isp_id_idx on public.reseller_vlans (isp_id);
create index reseller_vlans_reseller_id_idx on public.reseller_vlans (reseller_id);
create index reseller_vlans_device_id_idx on public.reseller_vlans (device_id);

create table public.reseller_ips (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null,
  reseller_id uuid not null,
  -- Text, not inet: a target may be a hostname that the pinger resolves.
  address text not null,
  label text,
  created_at timestamptz not null default now(),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade,
  unique (address)
);
create index reseller_ips_isp_id_idx on public.reseller_ips (isp_id);
create index reseller_ips_reseller_id_idx on public.reseller_ips (reseller_id);

create table public.memberships (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'isp_admin', 'isp_viewer', 'reseller')),
  isp_id uuid references public.isps (id) on delete cascade,
  reseller_id uuid,
  created_at timestamptz not null default now(),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade,
  check (
    (role = 'owner' and isp_id is null and reseller_id is null)
    or (role in ('isp_admin', 'isp_viewer') and isp_id is not null and reseller_id is null)
    or (role = 'reseller' and isp_id is not null and reseller_id is not null)
  )
);
create unique index memberships_unique_idx
  on public.memberships (user_id, role, coalesce(isp_id, '00000000-0000-0000-0000-000000000000'::uuid),
                         coalesce(reseller_id, '00000000-0000-0000-0000-000000000000'::uuid));
create index memberships_user_id_idx on public.memberships (user_id);
create index memberships_isp_id_idx on public.memberships (isp_id);

-- Measurements, state and alerts ---------------------------------------------------

create table public.usage_5m (
  isp_id uuid not null,
  reseller_id uuid not null,
  bucket_start timestamptz not null,
  avg_in_mbps double precision not null,
  avg_out_mbps double precision not null,
  max_in_mbps double precision not null,
  max_out_mbps double precision not null,
  committed_mbps numeric not null,
  samples integer not null check (samples >= 0),
  gap_samples integer not null check (gap_samples >= 0),
  updated_at timestamptz not null default now(),
  primary key (reseller_id, bucket_start),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade
);
create index usage_5m_isp_id_bucket_idx on public.usage_5m (isp_id, bucket_start);

create table public.link_state (
  reseller_ip_id uuid primary key references public.reseller_ips (id) on delete cascade,
  isp_id uuid not null,
  reseller_id uuid not null,
  state text not null check (state in ('UNKNOWN', 'UP', 'DEGRADED', 'DOWN', 'IDLE')),
  since timestamptz not null default now(),
  last_rtt_ms double precision,
  last_loss_percent double precision,
  jitter_ms double precision,
  consecutive_failures integer not null default 0,
  consecutive_successes integer not null default 0,
  last_error text,
  updated_at timestamptz not null default now(),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade
);
create index link_state_isp_id_idx on public.link_state (isp_id);
create index link_state_reseller_id_idx on public.link_state (reseller_id);

create table public.link_events (
  id bigint generated always as identity primary key,
  reseller_ip_id uuid not null references public.reseller_ips (id) on delete cascade,
  isp_id uuid not null,
  reseller_id uuid not null,
  from_state text not null,
  to_state text not null,
  at timestamptz not null default now(),
  rtt_ms double precision,
  loss_percent double precision,
  details jsonb not null default '{}'::jsonb,
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade
);
create index link_events_isp_id_at_idx on public.link_events (isp_id, at desc);
create index link_events_reseller_id_at_idx on public.link_events (reseller_id, at desc);

create table public.alerts (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null references public.isps (id) on delete cascade,
  reseller_id uuid,
  device_id uuid,
  kind text not null check (kind in ('UTILIZATION', 'UPLINK', 'LINK_DOWN', 'LINK_FLAPPING', 'NO_DATA')),
  severity text not null check (severity in ('INFO', 'YELLOW', 'RED', 'CRITICAL')),
  status text not null check (status in ('pending', 'firing', 'resolved')),
  -- One open incident per subject: kind + reseller/device (+ target for links).
  dedup_key text not null,
  started_at timestamptz not null default now(),
  pending_since timestamptz,
  resolved_at timestamptz,
  last_value double precision,
  threshold double precision,
  summary text not null default '',
  details jsonb not null default '{}'::jsonb,
  acknowledged_at timestamptz,
  acknowledged_by uuid,
  updated_at timestamptz not null default now(),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade,
  foreign key (device_id, isp_id) references public.devices (id, isp_id) on delete cascade on update cascade
);
create unique index alerts_open_dedup_idx on public.alerts (dedup_key) where status <> 'resolved';
create index alerts_isp_id_started_idx on public.alerts (isp_id, started_at desc);
create index alerts_reseller_id_started_idx on public.alerts (reseller_id, started_at desc);

-- Every change of an incident (raise, escalate, de-escalate, resolve): the timeline.
create table public.alert_events (
  id bigint generated always as identity primary key,
  alert_id uuid not null references public.alerts (id) on delete cascade,
  isp_id uuid not null,
  reseller_id uuid,
  at timestamptz not null default now(),
  from_status text,
  to_status text not null,
  from_severity text,
  to_severity text not null,
  value double precision,
  message text not null default ''
);
create index alert_events_isp_id_at_idx on public.alert_events (isp_id, at desc);
create index alert_events_reseller_id_at_idx on public.alert_events (reseller_id, at desc);
create index alert_events_alert_id_idx on public.alert_events (alert_id);

-- Outbox: written in the same transaction as the alert change that causes it.
create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  alert_id uuid references public.alerts (id) on delete set null,
  alert_event_id bigint references public.alert_events (id) on delete set null,
  isp_id uuid not null references public.isps (id) on delete cascade,
  reseller_id uuid,
  channel text not null,
  recipient text not null,
  audience text not null check (audience in ('isp', 'reseller')),
  template_key text not null,
  variables jsonb not null default '{}'::jsonb,
  body text not null default '',
  status text not null default 'pending'
    check (status in ('pending', 'sending', 'queued', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'suppressed', 'digested')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  digest_id uuid references public.notifications (id) on delete set null,
  provider_id text unique,
  provider_status text,
  error_code text,
  error_message text,
  created_at timestamptz not null default now(),
  accepted_at timestamptz,
  updated_at timestamptz not null default now()
);
create index notifications_due_idx on public.notifications (next_attempt_at) where status in ('pending', 'sending');
create index notifications_isp_id_idx on public.notifications (isp_id, created_at desc);
create index notifications_reseller_id_idx on public.notifications (reseller_id, created_at desc);

-- Maintenance windows: incidents are still recorded, notifications are suppressed.
create table public.silences (
  id uuid primary key default gen_random_uuid(),
  isp_id uuid not null references public.isps (id) on delete cascade,
  reseller_id uuid,
  device_id uuid,
  starts_at timestamptz not null,
  ends_at timestamptz not null check (ends_at > starts_at),
  reason text not null default '',
  created_by uuid,
  created_at timestamptz not null default now(),
  foreign key (reseller_id, isp_id) references public.resellers (id, isp_id) on delete cascade on update cascade,
  foreign key (device_id, isp_id) references public.devices (id, isp_id) on delete cascade on update cascade
);
create index silences_isp_id_idx on public.silences (isp_id, ends_at);

-- Access helpers -------------------------------------------------------------------

-- True when the caller may read rows of this ISP, or of this reseller when the
-- row belongs to one. Owners read everything; ISP admins and viewers read their
-- ISP; a reseller user reads only rows that carry its own reseller_id.
create or replace function public.bandwatch_can_read(p_isp_id uuid, p_reseller_id uuid)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.memberships m
    where m.user_id = (select auth.uid())
      and (
        m.role = 'owner'
        or (m.role in ('isp_admin', 'isp_viewer') and m.isp_id = p_isp_id)
        or (m.role = 'reseller' and p_reseller_id is not null and m.reseller_id = p_reseller_id)
      )
  )
$$;

-- True when the caller may change rows of this ISP: owners, and that ISP's admins.
create or replace function public.bandwatch_can_write(p_isp_id uuid)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.memberships m
    where m.user_id = (select auth.uid())
      and (m.role = 'owner' or (m.role = 'isp_admin' and m.isp_id = p_isp_id))
  )
$$;

create or replace function public.bandwatch_is_owner()
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (select 1 from public.memberships m where m.user_id = (select auth.uid()) and m.role = 'owner')
$$;

revoke all on function public.bandwatch_can_read(uuid, uuid), public.bandwatch_can_write(uuid), public.bandwatch_is_owner() from public;
grant execute on function public.bandwatch_can_read(uuid, uuid), public.bandwatch_can_write(uuid), public.bandwatch_is_owner()
  to authenticated, service_role;

-- Row-level security ----------------------------------------------------------------

alter table public.isps enable row level security;
alter table public.devices enable row level security;
alter table public.resellers enable row level security;
alter table public.reseller_vlans enable row level security;
alter table public.reseller_ips enable row level security;
alter table public.memberships enable row level security;
alter table public.usage_5m enable row level security;
alter table public.link_state enable row level security;
alter table public.link_events enable row level security;
alter table public.alerts enable row level security;
alter table public.alert_events enable row level security;
alter table public.notifications enable row level security;
alter table public.silences enable row level security;

-- isps: members see their ISP; only the SaaS owner creates or removes one.
create policy "members can read their isp" on public.isps for select to authenticated
  using ((select public.bandwatch_can_read(id, null)));
create policy "owners can create isps" on public.isps for insert to authenticated
  with check ((select public.bandwatch_is_owner()));
create policy "isp admins can update their isp" on public.isps for update to authenticated
  using ((select public.bandwatch_can_write(id))) with check ((select public.bandwatch_can_write(id)));
create policy "owners can delete isps" on public.isps for delete to authenticated
  using ((select public.bandwatch_is_owner()));

-- devices: ISP staff only (a reseller never sees router addresses or credentials refs).
create policy "isp members can read their devices" on public.devices for select to authenticated
  using ((select public.bandwatch_can_read(isp_id, null)));
create policy "isp admins can add devices" on public.devices for insert to authenticated
  with check ((select public.bandwatch_can_write(isp_id)));
create policy "isp admins can update devices" on public.devices for update to authenticated
  using ((select public.bandwatch_can_write(isp_id))) with check ((select public.bandwatch_can_write(isp_id)));
create policy "isp admins can delete devices" on public.devices for delete to authenticated
  using ((select public.bandwatch_can_write(isp_id)));

-- resellers: the ISP sees all of its resellers, a reseller sees itself.
create policy "members can read their resellers" on public.resellers for select to authenticated
  using ((select public.bandwatch_can_read(isp_id, id)));
create policy "isp admins can add resellers" on public.resellers for insert to authenticated
  with check ((select public.bandwatch_can_write(isp_id)));
create policy "isp admins can update resellers" on public.resellers for update to authenticated
  using ((select public.bandwatch_can_write(isp_id))) with check ((select public.bandwatch_can_write(isp_id)));
create policy "isp admins can delete resellers" on public.resellers for delete to authenticated
  using ((select public.bandwatch_can_write(isp_id)));

-- Reseller-owned rows: one read rule, one write rule, for every table below.
do $$
declare
  t text;
begin
  foreach t in array array['reseller_vlans', 'reseller_ips', 'silences'] loop
    execute format('create policy "members can read their %1$s" on public.%1$I for select to authenticated
                      using ((select public.bandwatch_can_read(isp_id, reseller_id)))', t);
    execute format('create policy "isp admins can add %1$s" on public.%1$I for insert to authenticated
                      with check ((select public.bandwatch_can_write(isp_id)))', t);
    execute format('create policy "isp admins can update %1$s" on public.%1$I for update to authenticated
                      using ((select public.bandwatch_can_write(isp_id))) with check ((select public.bandwatch_can_write(isp_id)))', t);
    execute format('create policy "isp admins can delete %1$s" on public.%1$I for delete to authenticated
                      using ((select public.bandwatch_can_write(isp_id)))', t);
  end loop;
  -- Series written by the services (service_role); users only read them.
  foreach t in array array['usage_5m', 'link_state', 'link_events', 'alert_events', 'notifications'] loop
    execute format('create policy "members can read their %1$s" on public.%1$I for select to authenticated
                      using ((select public.bandwatch_can_read(isp_id, reseller_id)))', t);
  end loop;
end $$;

-- alerts: read like any reseller row; ISP admins may acknowledge (update) theirs.
create policy "members can read their alerts" on public.alerts for select to authenticated
  using ((select public.bandwatch_can_read(isp_id, reseller_id)));
create policy "isp admins can acknowledge alerts" on public.alerts for update to authenticated
  using ((select public.bandwatch_can_write(isp_id))) with check ((select public.bandwatch_can_write(isp_id)));

-- memberships: users see their own; ISP admins manage their ISP's non-owner members.
create policy "users can read their own memberships" on public.memberships for select to authenticated
  using (user_id = (select auth.uid()) or (isp_id is not null and (select public.bandwatch_can_write(isp_id))));
create policy "isp admins can add members below owner" on public.memberships for insert to authenticated
  with check (role <> 'owner' and isp_id is not null and (select public.bandwatch_can_write(isp_id))
              or (select public.bandwatch_is_owner()));
create policy "isp admins can change members below owner" on public.memberships for update to authenticated
  using (role <> 'owner' and isp_id is not null and (select public.bandwatch_can_write(isp_id)) or (select public.bandwatch_is_owner()))
  with check (role <> 'owner' and isp_id is not null and (select public.bandwatch_can_write(isp_id)) or (select public.bandwatch_is_owner()));
create policy "isp admins can remove members below owner" on public.memberships for delete to authenticated
  using (role <> 'owner' and isp_id is not null and (select public.bandwatch_can_write(isp_id)) or (select public.bandwatch_is_owner()));

-- Grants: RLS decides rows; grants decide verbs. anon gets reads that no policy answers.
grant usage on schema public to anon, authenticated, service_role;
grant select on all tables in schema public to anon;
grant select, insert, update, delete on all tables in schema public to authenticated, service_role;
grant usage, select on all sequences in schema public to authenticated, service_role;

-- Change notifications: the alerter LISTENs for link transitions, the API for SSE.
create or replace function public.bandwatch_notify_link_event()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('bandwatch_link_events', json_build_object(
    'id', new.id, 'reseller_ip_id', new.reseller_ip_id, 'reseller_id', new.reseller_id, 'isp_id', new.isp_id,
    'from_state', new.from_state, 'to_state', new.to_state, 'at', new.at)::text);
  return new;
end $$;

create trigger link_events_notify after insert on public.link_events
  for each row execute function public.bandwatch_notify_link_event();

create or replace function public.bandwatch_notify_alert_event()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('bandwatch_alert_events', json_build_object(
    'id', new.id, 'alert_id', new.alert_id, 'reseller_id', new.reseller_id, 'isp_id', new.isp_id,
    'to_status', new.to_status, 'to_severity', new.to_severity, 'at', new.at)::text);
  return new;
end $$;

create trigger alert_events_notify after insert on public.alert_events
  for each row execute function public.bandwatch_notify_alert_event();
