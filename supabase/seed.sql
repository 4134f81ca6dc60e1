-- Demo users, one per role, for `supabase db reset` and `bandwatch demo`.
-- Idempotent. The ISPs and resellers come from config.yaml (`bandwatch inventory apply`);
-- memberships are attached by slug, so this file runs after the inventory.

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000000001', 'owner@bandwatch.test'),
  ('00000000-0000-4000-a000-000000000002', 'noc@northwind.test'),
  ('00000000-0000-4000-a000-000000000003', 'viewer@northwind.test'),
  ('00000000-0000-4000-a000-000000000004', 'ops@acme-net.test'),
  ('00000000-0000-4000-a000-000000000005', 'noc@southgate.test'),
  ('00000000-0000-4000-a000-000000000006', 'owner@delta-wisp.test')
on conflict (id) do nothing;

insert into public.memberships (user_id, role, isp_id, reseller_id)
select u.id, m.role, i.id, r.id
from (values
  ('00000000-0000-4000-a000-000000000001'::uuid, 'owner', null, null),
  ('00000000-0000-4000-a000-000000000002'::uuid, 'isp_admin', 'northwind', null),
  ('00000000-0000-4000-a000-000000000003'::uuid, 'isp_viewer', 'northwind', null),
  ('00000000-0000-4000-a000-000000000004'::uuid, 'reseller', 'northwind', 'acme-net'),
  ('00000000-0000-4000-a000-000000000005'::uuid, 'isp_admin', 'southgate', null),
  ('00000000-0000-4000-a000-000000000006'::uuid, 'reseller', 'southgate', 'delta-wisp')
) as m(user_id, role, isp_slug, reseller_slug)
join auth.users u on u.id = m.user_id
left join public.isps i on i.slug = m.isp_slug
left join public.resellers r on r.slug = m.reseller_slug
-- Skip rows whose ISP or reseller is not in the inventory (yet).
where (m.isp_slug is null or i.id is not null) and (m.reseller_slug is null or r.id is not null)
on conflict do nothing;
