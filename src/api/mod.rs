//! The control plane: one exhaustive dispatch over the 48 operations, and one file per
//! resource family. Handlers take the typed input the model binding produced and return the
//! typed output; they never see HTTP, and they change state only through the registry.

pub mod assets;
mod domains;
pub mod error;
mod package_groups;
mod packages;
mod pagination;
mod policies;
mod repositories;
mod tags;
mod tokens;

pub use crate::permissions::Subject;
pub use error::ApiError;

use crate::access;
use crate::auth::Caller;
use crate::permissions::{self, Asker, Refusal};
use crate::registry::{DomainId, Scope};
use crate::state::App;
use codeartifact_model::rt::{self, OperationInput, OperationOutput, RawInput, RenderedOutput};
use codeartifact_model::{GetPackageVersionAssetRequest, Operation, PublishPackageVersionRequest};

/// Everything a handler may use: the server, the verified caller, the request's region.
pub struct Cx<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    pub region: &'a str,
}

impl<'a> Cx<'a> {
    /// The caller's account and region, for account-scoped operations.
    pub fn scope(&self) -> Scope<'a> {
        Scope {
            region: self.region,
            account: self.caller.account_id(),
        }
    }

    /// A domain addressed by a request: its owner defaults to the caller's account.
    pub fn domain_id(&self, name: &'a str, owner: Option<&'a str>) -> DomainId<'a> {
        DomainId {
            region: self.region,
            owner: owner.unwrap_or(self.caller.account_id()),
            name,
        }
    }
}

type Handler<I, O> = fn(&Cx<'_>, I) -> Result<O, ApiError>;

/// What an operation answers: a rendered JSON output, or an asset to stream.
pub enum Reply {
    Rendered(RenderedOutput),
    Download(assets::Download),
}

/// Binds the input from the request, runs the handler, renders the output.
fn call<I: OperationInput, O: OperationOutput>(
    cx: &Cx<'_>,
    raw: &RawInput<'_>,
    handler: Handler<I, O>,
) -> Result<Reply, ApiError> {
    let input = rt::bind_input::<I>(raw)?;
    let output = handler(cx, input)?;
    Ok(Reply::Rendered(rt::render_output(&output)))
}

/// PublishPackageVersion with a body already in memory (the streaming path in `app` takes
/// every request that declares its SHA-256 up front).
fn publish_buffered(cx: &Cx<'_>, raw: &RawInput<'_>) -> Result<Reply, ApiError> {
    let input = rt::bind_input::<PublishPackageVersionRequest>(raw)?;
    let plan = assets::prepare_publish(cx, input)?;
    let staged = (|| {
        let mut upload = cx.app.registry.upload()?;
        upload.write(raw.body)?;
        upload.finish()
    })()
    .map_err(|e: std::io::Error| ApiError::storage("cannot stage the asset", &e))?;
    let output = assets::publish(cx, plan, staged)?;
    Ok(Reply::Rendered(rt::render_output(&output)))
}

/// Whether an operation only reads: reads run on the async worker, writes (which fsync)
/// move to a blocking thread. Exhaustive, so a new operation must be classified.
pub fn is_read_only(op: Operation) -> bool {
    use Operation as O;
    match op {
        O::DescribeDomain
        | O::ListDomains
        | O::GetDomainPermissionsPolicy
        | O::DescribeRepository
        | O::ListRepositories
        | O::ListRepositoriesInDomain
        | O::GetRepositoryEndpoint
        | O::GetRepositoryPermissionsPolicy
        | O::GetAuthorizationToken
        | O::ListTagsForResource
        | O::GetPackageVersionAsset
        | O::ListPackageVersionAssets
        | O::DescribePackage
        | O::DescribePackageVersion
        | O::ListPackages
        | O::ListPackageVersions
        | O::ListPackageVersionDependencies
        | O::GetPackageVersionReadme
        | O::DescribePackageGroup
        | O::ListPackageGroups
        | O::ListSubPackageGroups
        | O::ListAllowedRepositoriesForGroup
        | O::GetAssociatedPackageGroup
        | O::ListAssociatedPackages => true,
        O::CreateDomain
        | O::DeleteDomain
        | O::PutDomainPermissionsPolicy
        | O::DeleteDomainPermissionsPolicy
        | O::CreateRepository
        | O::UpdateRepository
        | O::DeleteRepository
        | O::AssociateExternalConnection
        | O::DisassociateExternalConnection
        | O::PutRepositoryPermissionsPolicy
        | O::DeleteRepositoryPermissionsPolicy
        | O::TagResource
        | O::UntagResource
        | O::PublishPackageVersion
        | O::UpdatePackageVersionsStatus
        | O::DisposePackageVersions
        | O::DeletePackageVersions
        | O::DeletePackage
        | O::CopyPackageVersions
        | O::PutPackageOriginConfiguration
        | O::CreatePackageGroup
        | O::UpdatePackageGroup
        | O::DeletePackageGroup
        | O::UpdatePackageGroupOriginConfiguration => false,
    }
}

/// Runs one operation. Adding an operation to the model makes this match non-exhaustive,
/// so the compiler lists the place to serve it.
pub fn dispatch(cx: &Cx<'_>, op: Operation, raw: &RawInput<'_>) -> Result<Reply, ApiError> {
    use Operation as O;
    match op {
        O::CreateDomain => call(cx, raw, domains::create_domain),
        O::DescribeDomain => call(cx, raw, domains::describe_domain),
        O::ListDomains => call(cx, raw, domains::list_domains),
        O::DeleteDomain => call(cx, raw, domains::delete_domain),
        O::PutDomainPermissionsPolicy => call(cx, raw, policies::put_domain_policy),
        O::GetDomainPermissionsPolicy => call(cx, raw, policies::get_domain_policy),
        O::DeleteDomainPermissionsPolicy => call(cx, raw, policies::delete_domain_policy),
        O::CreateRepository => call(cx, raw, repositories::create_repository),
        O::DescribeRepository => call(cx, raw, repositories::describe_repository),
        O::UpdateRepository => call(cx, raw, repositories::update_repository),
        O::DeleteRepository => call(cx, raw, repositories::delete_repository),
        O::ListRepositories => call(cx, raw, repositories::list_repositories),
        O::ListRepositoriesInDomain => call(cx, raw, repositories::list_repositories_in_domain),
        O::AssociateExternalConnection => {
            call(cx, raw, repositories::associate_external_connection)
        }
        O::DisassociateExternalConnection => {
            call(cx, raw, repositories::disassociate_external_connection)
        }
        O::GetRepositoryEndpoint => call(cx, raw, repositories::get_repository_endpoint),
        O::PutRepositoryPermissionsPolicy => call(cx, raw, policies::put_repository_policy),
        O::GetRepositoryPermissionsPolicy => call(cx, raw, policies::get_repository_policy),
        O::DeleteRepositoryPermissionsPolicy => call(cx, raw, policies::delete_repository_policy),
        O::GetAuthorizationToken => call(cx, raw, tokens::get_authorization_token),
        O::TagResource => call(cx, raw, tags::tag_resource),
        O::UntagResource => call(cx, raw, tags::untag_resource),
        O::ListTagsForResource => call(cx, raw, tags::list_tags_for_resource),
        O::PublishPackageVersion => publish_buffered(cx, raw),
        O::GetPackageVersionAsset => {
            let input = rt::bind_input::<GetPackageVersionAssetRequest>(raw)?;
            Ok(Reply::Download(assets::get_package_version_asset(
                cx, input,
            )?))
        }
        O::ListPackageVersionAssets => call(cx, raw, packages::list_package_version_assets),
        O::DescribePackage => call(cx, raw, packages::describe_package),
        O::DescribePackageVersion => call(cx, raw, packages::describe_package_version),
        O::ListPackages => call(cx, raw, packages::list_packages),
        O::ListPackageVersions => call(cx, raw, packages::list_package_versions),
        O::ListPackageVersionDependencies => {
            call(cx, raw, packages::list_package_version_dependencies)
        }
        O::GetPackageVersionReadme => call(cx, raw, packages::get_package_version_readme),
        O::UpdatePackageVersionsStatus => call(cx, raw, packages::update_package_versions_status),
        O::DisposePackageVersions => call(cx, raw, packages::dispose_package_versions),
        O::DeletePackageVersions => call(cx, raw, packages::delete_package_versions),
        O::DeletePackage => call(cx, raw, packages::delete_package),
        O::CopyPackageVersions => call(cx, raw, packages::copy_package_versions),
        O::PutPackageOriginConfiguration => {
            call(cx, raw, packages::put_package_origin_configuration)
        }
        O::CreatePackageGroup => call(cx, raw, package_groups::create_package_group),
        O::DescribePackageGroup => call(cx, raw, package_groups::describe_package_group),
        O::UpdatePackageGroup => call(cx, raw, package_groups::update_package_group),
        O::DeletePackageGroup => call(cx, raw, package_groups::delete_package_group),
        O::ListPackageGroups => call(cx, raw, package_groups::list_package_groups),
        O::ListSubPackageGroups => call(cx, raw, package_groups::list_sub_package_groups),
        O::UpdatePackageGroupOriginConfiguration => call(
            cx,
            raw,
            package_groups::update_package_group_origin_configuration,
        ),
        O::ListAllowedRepositoriesForGroup => {
            call(cx, raw, package_groups::list_allowed_repositories_for_group)
        }
        O::GetAssociatedPackageGroup => call(cx, raw, package_groups::get_associated_package_group),
        O::ListAssociatedPackages => call(cx, raw, package_groups::list_associated_packages),
    }
}

/// Access checks: each handler names its operation and what the request is about; the
/// table row of that operation (`access::table::operation`) says which actions are needed on
/// which resources, and `permissions::authorize` decides them.
impl Cx<'_> {
    /// The caller as the decision sees it: principal, identity policies (if configured),
    /// organization, and the request's region and time.
    fn asker(&self) -> Asker<'_> {
        Asker::configured(
            &self.app.identities,
            self.caller.account_id(),
            self.caller.principal_arn(),
            self.region,
            self.app.clock.now_ms(),
        )
    }

    /// Decides every action the table lists for `op` on `subject`.
    pub fn authorize(&self, op: Operation, subject: &Subject<'_>) -> Result<(), ApiError> {
        let needs = access::table::operation(op);
        permissions::authorize(&self.app.registry, &self.asker(), needs, subject).map_err(
            |refusal| match refusal {
                Refusal::Denied(message) => ApiError::AccessDenied(message),
                Refusal::Registry(e) => e.into(),
            },
        )
    }
}
