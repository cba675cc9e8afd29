//! The console's pages, as `maud` templates: every value is escaped where it is
//! interpolated (`(value)`), and nothing is ever written unescaped but the templates' own
//! markup. Each section shows only when the viewer may make the API call that reads it.

use super::graph::{self, Stop};
use super::{
    domain_href, enc, ok, package_query, repository_href, value, visible_repository, At, Failure,
    Page, Viewer, PAGE, PREFIX,
};
use crate::addressing::{endpoint_url, RepositoryAddress};
use crate::permissions::Subject;
use crate::registry::{
    groups, DomainId, DomainRecord, Origin, PackageId, PackageRecord, PolicyTarget,
    RepositoryRecord, VersionRecord,
};
use crate::state::App;
use codeartifact_model::{Operation, PackageFormat};
use maud::{html, Markup, DOCTYPE};

fn layout(
    viewer: Option<Viewer<'_>>,
    title: &str,
    crumbs: &[(String, String)],
    body: &Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · codeartifact-local" }
                link rel="stylesheet" href=(format!("{PREFIX}assets/style.css"));
            }
            body {
                header.top {
                    a.brand href=(PREFIX) { "codeartifact-local" }
                    nav {
                        a href=(PREFIX) { "Domains" }
                        a href=(format!("{PREFIX}events")) { "Events" }
                    }
                    @if let Some(viewer) = viewer {
                        span.who { (viewer.label()) }
                        @if let Viewer::Signed(_) = viewer {
                            form.logout method="post" action=(format!("{PREFIX}logout")) {
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                @if !crumbs.is_empty() {
                    nav.crumbs aria-label="Breadcrumbs" {
                        @for (href, label) in crumbs {
                            a href=(href) { (label) } " / "
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with a title and one message (errors, the console turned off).
pub fn message(viewer: Option<Viewer<'_>>, title: &str, text: &str) -> Markup {
    layout(viewer, title, &[], &html! { p.message { (text) } })
}

/// The sign-in form.
pub fn login(next: &str, failed: bool) -> Markup {
    let body = html! {
        p { "This server listens beyond loopback: sign in with the access key of a configured identity." }
        @if failed {
            p.error role="alert" { "Those credentials match no configured identity." }
        }
        form.login method="post" action=(format!("{PREFIX}login")) {
            input type="hidden" name="next" value=(next);
            label { "Access key id" input type="text" name="access_key_id" autocomplete="username" required; }
            label { "Secret access key" input type="password" name="secret_access_key" autocomplete="current-password" required; }
            button type="submit" { "Sign in" }
        }
    };
    layout(None, "Sign in", &[], &body)
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({n} bytes)", UNITS[unit])
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn policy_block(document: Option<String>, allowed: bool) -> Markup {
    html! {
        @if !allowed {
            p.muted { "You may not read this policy." }
        } @else if let Some(document) = document {
            pre.policy { (pretty_json(&document)) }
        } @else {
            p.muted { "No policy." }
        }
    }
}

/// A section the viewer may or may not read: a note when not allowed or empty, else `full`.
fn gated(allowed: bool, what: &str, empty: bool, full: impl FnOnce() -> Markup) -> Markup {
    html! {
        @if !allowed {
            p.muted { "You may not " (what) "." }
        } @else if empty {
            p.muted { "None." }
        } @else {
            (full())
        }
    }
}

fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn domain_crumbs(d: DomainId<'_>) -> Vec<(String, String)> {
    vec![
        (PREFIX.to_string(), "Domains".to_string()),
        (domain_href(d), d.name.to_string()),
    ]
}

fn repository_crumbs(r: &RepositoryRecord) -> Vec<(String, String)> {
    let mut crumbs = domain_crumbs(r.domain_id());
    crumbs.push((repository_href(r), r.name.clone()));
    crumbs
}

fn package_href(r: &RepositoryRecord, p: &PackageId) -> String {
    format!("{}/package?{}", repository_href(r), package_query(p))
}

fn version_href(r: &RepositoryRecord, p: &PackageId, version: &str) -> String {
    format!(
        "{}/version?{}&version={}",
        repository_href(r),
        package_query(p),
        enc(version)
    )
}

fn package_cells(repo: &RepositoryRecord, record: &PackageRecord) -> Markup {
    let p = record.id();
    html! {
        td { (record.format) }
        td { (record.namespace.as_deref().unwrap_or("")) }
        td { a.package href=(package_href(repo, &p)) { (record.display_name) } }
        td { (allow(record.allow_publish)) " / " (allow(record.allow_upstream)) }
    }
}

fn allow(yes: bool) -> &'static str {
    if yes {
        "ALLOW"
    } else {
        "BLOCK"
    }
}

/// `/`: the domains the viewer may describe, a page at a time.
pub fn domains(app: &App, viewer: Viewer<'_>, query: &[(String, String)]) -> Page {
    let after = value(query, "after");
    let after_id = after.as_deref().and_then(|a| {
        let mut it = a.splitn(3, '/');
        Some(DomainId {
            region: it.next()?,
            owner: it.next()?,
            name: it.next()?,
        })
    });
    let mut shown: Vec<(DomainRecord, crate::registry::DomainStats)> = Vec::new();
    let mut cursor = after_id.map(|d| {
        (
            d.region.to_string(),
            d.owner.to_string(),
            d.name.to_string(),
        )
    });
    let mut more = false;
    // Domains the viewer may not describe are skipped; pages fill from the next ones.
    loop {
        let at = cursor.as_ref().map(|(r, o, n)| DomainId {
            region: r,
            owner: o,
            name: n,
        });
        let page = app.registry.all_domains(at, PAGE)?;
        let last = page
            .items
            .last()
            .map(|d| (d.region.clone(), d.owner.clone(), d.name.clone()));
        for record in page.items {
            if viewer.may(
                app,
                Operation::DescribeDomain,
                &Subject::domain(record.id()),
            ) {
                if shown.len() == PAGE {
                    more = true;
                    break;
                }
                let stats = app.registry.domain_stats(record.id())?;
                shown.push((record, stats));
            }
        }
        if more || page.next_after.is_none() {
            break;
        }
        cursor = last;
    }
    let next = shown.last().filter(|_| more).map(|(d, _)| {
        format!(
            "{PREFIX}?after={}",
            enc(&format!("{}/{}/{}", d.region, d.owner, d.name))
        )
    });
    let body = html! {
        @if shown.is_empty() {
            p.muted { "No domain to show." }
        } @else {
            table.list #domains {
                thead { tr { th { "Domain" } th { "Owner" } th { "Region" } th { "Repositories" } th { "Storage" } th { "Created" } } }
                tbody {
                    @for (d, stats) in &shown {
                        tr {
                            td { a.domain href=(domain_href(d.id())) { (d.name) } }
                            td { (d.owner) }
                            td { (d.region) }
                            td { (stats.repository_count) }
                            td { (bytes(stats.asset_size_bytes)) }
                            td { (time(d.created_ms)) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { p.pager { a rel="next" href=(next) { "Next page →" } } }
    };
    ok(&layout(Some(viewer), "Domains", &[], &body))
}

/// A domain: owner, storage, asset count, policy, repositories, package groups, search.
pub fn domain(app: &App, viewer: Viewer<'_>, d: DomainId<'_>, query: &[(String, String)]) -> Page {
    let record = app.registry.domain(d)?;
    if !viewer.may(app, Operation::DescribeDomain, &Subject::domain(d)) {
        return Err(Failure::Denied(format!(
            "You may not describe domain '{}'",
            d.name
        )));
    }
    let stats = app.registry.domain_stats(d)?;
    let assets = app.registry.blob_count(d)?;
    let may_policy = viewer.may(
        app,
        Operation::GetDomainPermissionsPolicy,
        &Subject::domain(d),
    );
    let policy = if may_policy {
        app.registry
            .policy_if_any(PolicyTarget::Domain(d))?
            .map(|p| p.document)
    } else {
        None
    };
    let repositories = if viewer.may(
        app,
        Operation::ListRepositoriesInDomain,
        &Subject::domain(d),
    ) {
        let after = value(query, "after");
        Some(
            app.registry
                .list_repositories_in_domain(d, None, None, after.as_deref(), PAGE)?,
        )
    } else {
        None
    };
    let next = repositories
        .as_ref()
        .and_then(|page| page.next_after.as_ref())
        .map(|after| format!("{}?after={}", domain_href(d), enc(after)));
    let repositories = repositories.map(|page| page.items);
    let groups_tree = if viewer.may(app, Operation::ListPackageGroups, &Subject::domain(d)) {
        Some(group_tree(app, d)?)
    } else {
        None
    };
    let body = html! {
        dl.facts {
            dt { "Owner" } dd #owner { (record.owner) }
            dt { "Region" } dd { (record.region) }
            dt { "Storage (distinct assets)" } dd #storage { (bytes(stats.asset_size_bytes)) }
            dt { "Assets" } dd #asset-count { (assets) }
            dt { "Repositories" } dd { (stats.repository_count) }
            dt { "Encryption key" } dd { (record.encryption_key) }
            dt { "Created" } dd { (time(record.created_ms)) }
        }
        form.search method="get" action=(format!("{}/search", domain_href(d))) {
            label { "Search packages by name " input type="search" name="q" required; }
            button type="submit" { "Search" }
        }
        h2 { "Repositories" }
        @match &repositories {
            None => p.muted { "You may not list this domain's repositories." },
            Some(list) if list.is_empty() => p.muted { "No repositories." },
            Some(list) => table.list #repositories {
                thead { tr { th { "Repository" } th { "Administrator" } th { "Upstreams" } th { "External connection" } th { "Description" } } }
                tbody {
                    @for r in list {
                        tr {
                            td { a.repository href=(repository_href(r)) { (r.name) } }
                            td { (r.administrator_account) }
                            td { (r.upstreams.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ")) }
                            td { (r.external_connections.join(", ")) }
                            td { (r.description.as_deref().unwrap_or("")) }
                        }
                    }
                }
            },
        }
        @if let Some(next) = next { p.pager { a rel="next" href=(next) { "Next page →" } } }
        h2 #package-groups { "Package groups" }
        @match groups_tree {
            None => p.muted { "You may not list this domain's package groups." },
            Some(tree) => (tree),
        }
        h2 { "Domain policy" }
        (policy_block(policy, may_policy))
    };
    ok(&layout(
        Some(viewer),
        &format!("Domain {}", d.name),
        &domain_crumbs(d)[..1],
        &body,
    ))
}

/// The package groups of a domain as a tree (each under its most specific container).
fn group_tree(app: &App, d: DomainId<'_>) -> Result<Markup, Failure> {
    let set = app.registry.group_set(d)?;
    let views = set.views();
    let children = |parent: Option<usize>| -> Vec<usize> {
        (0..set.patterns.len())
            .filter(|&i| {
                let up = groups::parent(&set.patterns, &set.patterns[i]);
                match parent {
                    None => up.is_none(),
                    Some(p) => up == Some(&set.patterns[p]),
                }
            })
            .collect()
    };
    fn branch(
        set: &crate::registry::GroupSet,
        views: &[groups::GroupView<'_>],
        ids: &[usize],
        children: &dyn Fn(Option<usize>) -> Vec<usize>,
        depth: usize,
    ) -> Markup {
        html! {
            ul.tree {
                @for &i in ids {
                    @let record = &set.records[i];
                    li.group data-pattern=(record.pattern) {
                        code { (record.pattern) }
                        @for t in [groups::RestrictionType::Publish, groups::RestrictionType::ExternalUpstream, groups::RestrictionType::InternalUpstream] {
                            @let effective = groups::effective_mode(views, &views[i], t);
                            " " span.restriction { (t.as_str()) ": " (effective.mode.as_str()) }
                        }
                        @if let Some(description) = &record.description { " — " span.muted { (description) } }
                        @if depth < 32 {
                            @let below = children(Some(i));
                            @if !below.is_empty() { (branch(set, views, &below, children, depth + 1)) }
                        }
                    }
                }
            }
        }
    }
    let roots = children(None);
    Ok(branch(&set, &views, &roots, &children, 0))
}

/// Packages whose name contains `q`, across the repositories of a domain the viewer may
/// list packages of; at most one page.
pub fn search(app: &App, viewer: Viewer<'_>, d: DomainId<'_>, q: &str) -> Page {
    app.registry.domain(d)?;
    let repositories = app
        .registry
        .list_repositories_in_domain(d, None, None, None, usize::MAX)?
        .items;
    let mut hits: Vec<(RepositoryRecord, PackageRecord)> = Vec::new();
    if !q.is_empty() {
        for repo in repositories {
            if hits.len() >= PAGE {
                break;
            }
            if !viewer.may(
                app,
                Operation::ListPackages,
                &Subject::repository(d, &repo.name),
            ) {
                continue;
            }
            for found in app.registry.search_packages(&repo, q, PAGE - hits.len())? {
                hits.push((repo.clone(), found));
            }
        }
    }
    let body = html! {
        form.search method="get" action=(format!("{}/search", domain_href(d))) {
            label { "Search packages by name " input type="search" name="q" value=(q) required; }
            button type="submit" { "Search" }
        }
        @if hits.is_empty() {
            p.muted { "No package matches." }
        } @else {
            table.list #results {
                thead { tr { th { "Repository" } th { "Format" } th { "Namespace" } th { "Package" } th { "Publish / upstream" } } }
                tbody {
                    @for (repo, record) in &hits {
                        tr { td { a href=(repository_href(repo)) { (repo.name) } } (package_cells(repo, record)) }
                    }
                }
            }
            @if hits.len() >= PAGE { p.muted { "The first " (PAGE) " matches; narrow the search for others." } }
        }
    };
    let mut crumbs = domain_crumbs(d);
    crumbs.truncate(2);
    ok(&layout(
        Some(viewer),
        &format!("Search “{q}”"),
        &crumbs,
        &body,
    ))
}

/// The `aws codeartifact login` tools for a format.
fn login_tools(format: &str) -> &'static [&'static str] {
    match format {
        "npm" => &["npm"],
        "pypi" => &["pip", "twine"],
        "nuget" => &["dotnet", "nuget"],
        "swift" => &["swift"],
        _ => &[],
    }
}

/// A repository: its upstream graph, external connection, policy, packages (a page at a
/// time) and those reachable through upstreams, endpoints and login lines.
pub fn repository(
    app: &App,
    viewer: Viewer<'_>,
    d: DomainId<'_>,
    name: &str,
    query: &[(String, String)],
) -> Page {
    let repo = visible_repository(app, viewer, d, name)?;
    let subject = Subject::repository(d, name);
    let order = graph::search_order(&app.registry, &repo)?;
    let may_policy = viewer.may(app, Operation::GetRepositoryPermissionsPolicy, &subject);
    let policy = if may_policy {
        app.registry
            .policy_if_any(PolicyTarget::Repository(d, name))?
            .map(|p| p.document)
    } else {
        None
    };
    let after = value(query, "after_name").map(|name| PackageId {
        format: value(query, "after_format").unwrap_or_default(),
        namespace: value(query, "after_namespace").filter(|ns| !ns.is_empty()),
        name,
    });
    let may_list = viewer.may(app, Operation::ListPackages, &subject);
    let (packages, more) = if may_list {
        app.registry.packages_page(&repo, after.as_ref(), PAGE)?
    } else {
        (Vec::new(), false)
    };
    let next = packages.last().filter(|_| more).map(|last| {
        format!(
            "{}?after_format={}&after_namespace={}&after_name={}",
            repository_href(&repo),
            enc(&last.format),
            enc(last.namespace.as_deref().unwrap_or("")),
            enc(&last.name)
        )
    });
    // Packages reachable through each upstream (first rows of each).
    let mut reachable = Vec::new();
    for node in order.iter().skip(1) {
        if let Stop::Repository(up) = &node.stop {
            if viewer.may(
                app,
                Operation::ListPackages,
                &Subject::repository(d, &up.name),
            ) {
                let (first, more) = app.registry.packages_page(up, None, 10)?;
                reachable.push((up.clone(), first, more));
            }
        }
    }
    let base = &app.settings.public_base_url;
    let body = html! {
        dl.facts {
            dt { "Domain" } dd { a href=(domain_href(d)) { (d.name) } " (owner " (d.owner) ")" }
            dt { "Administrator" } dd { (repo.administrator_account) }
            dt { "Description" } dd { (repo.description.as_deref().unwrap_or("—")) }
            dt { "External connection" } dd #external-connection {
                @if repo.external_connections.is_empty() { "none" } @else { (repo.external_connections.join(", ")) }
            }
            dt { "Created" } dd { (time(repo.created_ms)) }
        }
        h2 { "Upstream graph (search order)" }
        (graph::svg(&order))
        ol #search-order {
            @for node in &order {
                li data-kind=(match node.stop { Stop::Repository(_) => "repository", Stop::External { .. } => "external" }) {
                    @match &node.stop {
                        Stop::Repository(r) => a href=(repository_href(r)) { (r.name) },
                        Stop::External { connection, via } => { (connection) span.muted { " (external connection of " (via) ")" } },
                    }
                }
            }
        }
        h2 { "Packages in " (repo.name) }
        (gated(may_list, "list this repository's packages", packages.is_empty(), || html! {
            table.list #packages {
                thead { tr { th { "Format" } th { "Namespace" } th { "Package" } th { "Publish / upstream" } } }
                tbody { @for record in &packages { tr { (package_cells(&repo, record)) } } }
            }
        }))
        @if let Some(next) = next { p.pager { a rel="next" href=(next) { "Next page →" } } }
        @if !reachable.is_empty() {
            h2 { "Reachable through upstreams" }
            @for (up, first, more) in &reachable {
                h3 { a href=(repository_href(up)) { (up.name) } }
                @if first.is_empty() { p.muted { "No packages." } } @else {
                    table.list.reachable data-repository=(up.name) {
                        tbody { @for record in first { tr { (package_cells(up, record)) } } }
                    }
                    @if *more { p { a href=(repository_href(up)) { "All packages of " (up.name) " →" } } }
                }
            }
        }
        h2 { "Endpoints" }
        table.list #endpoints {
            thead { tr { th { "Format" } th { "Endpoint URL" } th { "Login" } } }
            tbody {
                @for format in PackageFormat::ALL.iter().filter(|f| f.as_str() != "generic") {
                    @let url = endpoint_url(app.settings.endpoint_style, base, &app.settings.dns_suffix, format.as_str(), RepositoryAddress {
                        domain: &repo.domain, owner: &repo.domain_owner, region: &repo.region, repository: &repo.name,
                    });
                    tr {
                        td { (format.as_str()) }
                        td { code { (url) } }
                        td {
                            @for tool in login_tools(format.as_str()) {
                                code.login { (format!(
                                    "aws codeartifact login --tool {tool} --domain {} --domain-owner {} --repository {} --region {} --endpoint-url {base}",
                                    repo.domain, repo.domain_owner, repo.name, repo.region
                                )) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Repository policy" }
        (policy_block(policy, may_policy))
    };
    ok(&layout(
        Some(viewer),
        &format!("Repository {}", repo.name),
        &repository_crumbs(&repo)[..2],
        &body,
    ))
}

/// How a version came to be in `repo`, from what the registry records (DescribePackageVersion's
/// `origin`): published here, retained from the repository it was published to, or from an
/// external connection.
pub fn origin_text(repo: &RepositoryRecord, origin: &Origin) -> String {
    match origin {
        Origin::Internal { repository } if *repository == repo.name => "Published here".to_string(),
        Origin::Internal { repository } => {
            format!("Retained from upstream repository {repository}")
        }
        Origin::External { connection } if repo.external_connections.contains(connection) => {
            format!("From external connection {connection}")
        }
        Origin::External { connection } => {
            format!("Retained from external connection {connection}")
        }
        Origin::Unknown => "Unknown".to_string(),
    }
}

/// A package in a repository: versions, origin controls, the group that governs it.
pub fn package(app: &App, viewer: Viewer<'_>, at: &At<'_>, query: &[(String, String)]) -> Page {
    let (d, name, p) = (at.d, at.repo, &at.package);
    let repo = app.registry.repository(d, name)?;
    let record = app.registry.package(&repo, p)?;
    let subject = Subject::package(d, name, p);
    if !viewer.may(app, Operation::DescribePackage, &subject) {
        return Err(Failure::Denied(format!(
            "You may not describe package '{}'",
            p.display()
        )));
    }
    let may_versions = viewer.may(app, Operation::ListPackageVersions, &subject);
    let (versions, next) = if may_versions {
        let all: Vec<(String, VersionRecord)> = app
            .registry
            .versions(&repo, p)?
            .into_iter()
            .map(|v| (v.version.clone(), v))
            .collect();
        let after = value(query, "after");
        let page = crate::registry::paginate(all, after.as_deref(), PAGE);
        let next = page
            .next_after
            .map(|a| format!("{}&after={}", package_href(&repo, p), enc(&a)));
        (page.items, next)
    } else {
        (Vec::new(), None)
    };
    let set = app.registry.group_set(d)?;
    let group = groups::associated(&set.patterns, &p.format, p.namespace.as_deref(), &p.name)
        .filter(|(pattern, _)| {
            viewer.may(
                app,
                Operation::GetAssociatedPackageGroup,
                &Subject::group(d, pattern.as_str()),
            )
        });
    let body = html! {
        dl.facts {
            dt { "Repository" } dd { a href=(repository_href(&repo)) { (repo.name) } }
            dt { "Format" } dd { (record.format) }
            dt { "Namespace" } dd { (record.namespace.as_deref().unwrap_or("—")) }
            dt { "Name" } dd.name { (record.display_name) }
            dt { "Origin controls" } dd #origin-controls {
                "publish: " (allow(record.allow_publish)) ", upstream: " (allow(record.allow_upstream))
            }
            dt { "Package group" } dd #package-group {
                @match group {
                    Some((pattern, association)) => {
                        a href=(format!("{}#package-groups", domain_href(d))) { code { (pattern.as_str()) } }
                        " (" (format!("{association:?}").to_uppercase()) ")"
                    }
                    None => "—",
                }
            }
            @if !record.dist_tags.is_empty() {
                dt { "dist-tags" } dd { @for (tag, v) in &record.dist_tags { code { (tag) ": " (v) } " " } }
            }
        }
        h2 { "Versions" }
        (gated(may_versions, "list this package's versions", versions.is_empty(), || html! {
            table.list #versions {
                thead { tr { th { "Version" } th { "Status" } th { "Revision" } th { "Origin" } th { "Entered this repository" } } }
                tbody {
                    @for v in &versions {
                        tr {
                            td { a.version href=(version_href(&repo, p, &v.version)) { (v.version) } }
                            td.status { (v.status.as_str()) }
                            td { code { (v.revision) } }
                            td.origin { (origin_text(&repo, &v.origin)) }
                            td { (time(v.published_ms)) }
                        }
                    }
                }
            }
        }))
        @if let Some(next) = next { p.pager { a rel="next" href=(next) { "Next page →" } } }
    };
    let mut crumbs = repository_crumbs(&repo);
    crumbs.push((package_href(&repo, p), record.display_name.clone()));
    ok(&layout(
        Some(viewer),
        &format!("Package {}", record.display_name),
        &crumbs[..3],
        &body,
    ))
}

/// A version: assets with their digests and download links, dependencies, readme.
pub fn version(app: &App, viewer: Viewer<'_>, at: &At<'_>, version: &str) -> Page {
    let (d, name, p) = (at.d, at.repo, &at.package);
    let repo = app.registry.repository(d, name)?;
    let record = app.registry.package(&repo, p)?;
    let v = app.registry.version(&repo, p, version)?;
    let subject = Subject::package(d, name, p);
    if !viewer.may(app, Operation::DescribePackageVersion, &subject) {
        return Err(Failure::Denied(format!(
            "You may not describe version '{version}'"
        )));
    }
    let may_assets = viewer.may(app, Operation::ListPackageVersionAssets, &subject);
    let may_download = viewer.may(app, Operation::GetPackageVersionAsset, &subject);
    let may_dependencies = viewer.may(app, Operation::ListPackageVersionDependencies, &subject);
    let may_readme = viewer.may(app, Operation::GetPackageVersionReadme, &subject);
    let mut assets = Vec::new();
    if may_assets {
        for asset in &v.assets {
            assets.push((asset, app.registry.blob(d, &asset.sha256)?));
        }
    }
    let meta = &v.metadata;
    let body = html! {
        dl.facts {
            dt { "Package" } dd { a href=(package_href(&repo, p)) { (record.display_name) } }
            dt { "Status" } dd #status { (v.status.as_str()) }
            dt { "Revision" } dd { code { (v.revision) } }
            dt { "Origin" } dd #origin { (origin_text(&repo, &v.origin)) }
            dt { "Entered this repository" } dd { (time(v.published_ms)) }
            @if let Some(summary) = &meta.summary { dt { "Summary" } dd #summary { (summary) } }
            @if let Some(home) = &meta.home_page { dt { "Home page" } dd { (home) } }
            @if let Some(source) = &meta.source_code_repository { dt { "Source" } dd { (source) } }
            @if !meta.licenses.is_empty() {
                dt { "Licenses" } dd { @for l in &meta.licenses { (l.name.as_deref().unwrap_or("")) " " } }
            }
        }
        h2 { "Assets" }
        (gated(may_assets, "list this version's assets", assets.is_empty(), || html! {
            table.list #assets {
                thead { tr { th { "Name" } th { "Size" } th { "Hashes" } } }
                tbody {
                    @for (asset, blob) in &assets {
                        tr data-asset=(asset.name) {
                            td {
                                @if may_download {
                                    a.download href=(format!("{}/asset?{}&version={}&asset={}", repository_href(&repo), package_query(p), enc(&v.version), enc(&asset.name))) { (asset.name) }
                                } @else { (asset.name) }
                            }
                            td.size data-bytes=(asset.size) { (bytes(asset.size)) }
                            td.hashes {
                                @if let Some(blob) = blob {
                                    dl.hashes {
                                        dt { "MD5" } dd.md5 { code { (blob.md5) } }
                                        dt { "SHA-1" } dd.sha1 { code { (blob.sha1) } }
                                        dt { "SHA-256" } dd.sha256 { code { (blob.sha256) } }
                                        dt { "SHA-512" } dd.sha512 { code { (blob.sha512) } }
                                    }
                                } @else {
                                    dl.hashes { dt { "SHA-256" } dd.sha256 { code { (asset.sha256) } } }
                                }
                            }
                        }
                    }
                }
            }
        }))
        h2 { "Dependencies" }
        (gated(may_dependencies, "list this version's dependencies", meta.dependencies.is_empty(), || html! {
            table.list #dependencies {
                thead { tr { th { "Namespace" } th { "Package" } th { "Type" } th { "Requirement" } } }
                tbody {
                    @for dep in &meta.dependencies {
                        tr {
                            td { (dep.namespace.as_deref().unwrap_or("")) }
                            td { (dep.package) }
                            td { (dep.dependency_type.as_deref().unwrap_or("")) }
                            td { (dep.version_requirement.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }))
        h2 { "Readme" }
        @if !may_readme {
            p.muted { "You may not read this version's readme." }
        } @else if let Some(readme) = &meta.readme {
            pre #readme.readme { (readme) }
        } @else {
            p.muted { "No readme." }
        }
    };
    let mut crumbs = repository_crumbs(&repo);
    crumbs.push((package_href(&repo, p), record.display_name.clone()));
    ok(&layout(
        Some(viewer),
        &format!("{} {}", record.display_name, v.version),
        &crumbs,
        &body,
    ))
}

/// The live event stream (the JavaScript fills the table as events arrive).
pub fn events(app: &App, viewer: Viewer<'_>) -> Page {
    let body = html! {
        @if app.stream.is_none() {
            p.muted { "The event stream is off (--no-test-controls)." }
        } @else {
            p #events-status data-stream=(format!("{PREFIX}events/stream")) { "Connecting…" }
            table.list #events {
                thead { tr { th { "Time" } th { "Operation" } th { "Domain" } th { "Repository" } th { "Format" } th { "Package" } th { "Version" } th { "Status" } } }
                tbody {}
            }
            script src=(format!("{PREFIX}assets/console.js")) {}
        }
    };
    ok(&layout(Some(viewer), "Events (live)", &[], &body))
}

#[cfg(test)]
mod tests {
    use crate::console::pages::{bytes, login, message, origin_text};
    use crate::registry::{Origin, RepositoryRecord};

    #[test]
    fn hostile_text_is_escaped_everywhere_it_is_shown() {
        let hostile = "<script>alert(1)</script>\"'&";
        let page = message(None, hostile, hostile).into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;"));
        // An attribute value cannot be broken out of.
        let page = login("/_codeartifact/console/\"><script>x</script>", false).into_string();
        assert!(
            page.contains(
                "value=\"/_codeartifact/console/&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""
            ),
            "{page}"
        );
    }

    #[test]
    fn sizes_read_in_binary_units_with_the_exact_count() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(2048), "2.0 KiB (2048 bytes)");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB (5242880 bytes)");
    }

    #[test]
    fn origins_say_where_a_version_came_from() {
        let repo = RepositoryRecord {
            id: "r".into(),
            name: "app".into(),
            domain: "d".into(),
            domain_owner: "000000000000".into(),
            region: "us-east-1".into(),
            administrator_account: "000000000000".into(),
            description: None,
            upstreams: Vec::new(),
            external_connections: vec!["public:npmjs".into()],
            created_ms: 0,
        };
        let internal = |r: &str| Origin::Internal {
            repository: r.into(),
        };
        let external = |c: &str| Origin::External {
            connection: c.into(),
        };
        assert_eq!(origin_text(&repo, &internal("app")), "Published here");
        assert_eq!(
            origin_text(&repo, &internal("base")),
            "Retained from upstream repository base"
        );
        assert_eq!(
            origin_text(&repo, &external("public:npmjs")),
            "From external connection public:npmjs"
        );
        assert_eq!(
            origin_text(&repo, &external("public:pypi")),
            "Retained from external connection public:pypi"
        );
    }
}
