//! The service authorization reference, as data: for each of the 48 operations and each
//! class of repository-endpoint route, the IAM actions it needs, the resource each is checked
//! against, whether the resource's own policies are consulted, and the inputs that add an
//! action (tags on create → `TagResource`; upstreams → `AssociateWithDownstreamRepository` on
//! each). Sources: the Service Authorization Reference for CodeArtifact and the user guide's
//! "API operations and permissions" table; where they are silent, policies.md §3–4.

use codeartifact_model::Operation;

/// The resource an action is checked against. Repositories and packages are governed by
/// the domain policy and the repository policy; domains and package groups by the domain
/// policy; `Account` and `Bearer` by identity policies alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// `*`: account-scoped listings, which only ever show the caller's own resources.
    Account,
    /// The domain the request names (for CreateDomain, the new one).
    Domain,
    /// The repository the request names (for CreateRepository, the new one).
    Repository,
    /// The package ARN, `package/{domain}/{repository}/{format}/{namespace}/{name}`.
    Package,
    /// The package group the request names (GetAssociatedPackageGroup: the one found).
    PackageGroup,
    /// The domain, repository or package group whose ARN the request carries (tags).
    TaggedResource,
    /// CopyPackageVersions' source repository.
    SourceRepository,
    /// CopyPackageVersions' destination, authorized on its repository ARN or on the
    /// package's ARN in it (the reference lists both resource types).
    Destination,
    /// Each upstream repository the request links.
    Upstream,
    /// `sts:GetServiceBearerToken`, `*`, decided by identity policies.
    Bearer,
}

/// When a requirement applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// The request sets tags.
    TagsGiven,
    /// The request names upstream repositories.
    UpstreamsGiven,
}

/// One action a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// With its service prefix: `codeartifact:ReadFromRepository`.
    pub action: &'static str,
    pub on: On,
    pub when: When,
    /// False where the service ignores the resource's existing policy (setting a policy),
    /// so only identity policies decide.
    pub consult_resource_policy: bool,
}

const fn need(action: &'static str, on: On) -> Need {
    Need {
        action,
        on,
        when: When::Always,
        consult_resource_policy: true,
    }
}

const fn need_if(action: &'static str, on: On, when: When) -> Need {
    Need {
        action,
        on,
        when,
        consult_resource_policy: true,
    }
}

const fn identity_only(action: &'static str, on: On) -> Need {
    Need {
        action,
        on,
        when: When::Always,
        consult_resource_policy: false,
    }
}

/// What operation `op` needs. Exhaustive: an operation added to the model does not compile
/// until it has a row.
pub fn operation(op: Operation) -> &'static [Need] {
    use On::*;
    use Operation as O;
    match op {
        O::AssociateExternalConnection => {
            const { &[need("codeartifact:AssociateExternalConnection", Repository)] }
        }
        O::CopyPackageVersions => {
            const {
                &[
                    need("codeartifact:CopyPackageVersions", Destination),
                    need("codeartifact:ReadFromRepository", SourceRepository),
                ]
            }
        }
        O::CreateDomain => {
            const {
                &[
                    need("codeartifact:CreateDomain", Domain),
                    need_if("codeartifact:TagResource", Domain, When::TagsGiven),
                ]
            }
        }
        O::CreatePackageGroup => {
            const {
                &[
                    need("codeartifact:CreatePackageGroup", PackageGroup),
                    need_if("codeartifact:TagResource", PackageGroup, When::TagsGiven),
                ]
            }
        }
        O::CreateRepository => {
            const {
                &[
                    need("codeartifact:CreateRepository", Repository),
                    need_if("codeartifact:TagResource", Repository, When::TagsGiven),
                    need_if(
                        "codeartifact:AssociateWithDownstreamRepository",
                        Upstream,
                        When::UpstreamsGiven,
                    ),
                ]
            }
        }
        O::DeleteDomain => const { &[need("codeartifact:DeleteDomain", Domain)] },
        O::DeleteDomainPermissionsPolicy => {
            const { &[need("codeartifact:DeleteDomainPermissionsPolicy", Domain)] }
        }
        O::DeletePackage => const { &[need("codeartifact:DeletePackage", Package)] },
        O::DeletePackageGroup => const { &[need("codeartifact:DeletePackageGroup", PackageGroup)] },
        O::DeletePackageVersions => {
            const { &[need("codeartifact:DeletePackageVersions", Package)] }
        }
        O::DeleteRepository => const { &[need("codeartifact:DeleteRepository", Repository)] },
        O::DeleteRepositoryPermissionsPolicy => {
            const {
                &[need(
                    "codeartifact:DeleteRepositoryPermissionsPolicy",
                    Repository,
                )]
            }
        }
        O::DescribeDomain => const { &[need("codeartifact:DescribeDomain", Domain)] },
        O::DescribePackage => const { &[need("codeartifact:DescribePackage", Package)] },
        O::DescribePackageGroup => {
            const { &[need("codeartifact:DescribePackageGroup", PackageGroup)] }
        }
        O::DescribePackageVersion => {
            const { &[need("codeartifact:DescribePackageVersion", Package)] }
        }
        O::DescribeRepository => const { &[need("codeartifact:DescribeRepository", Repository)] },
        O::DisassociateExternalConnection => {
            const {
                &[need(
                    "codeartifact:DisassociateExternalConnection",
                    Repository,
                )]
            }
        }
        O::DisposePackageVersions => {
            const { &[need("codeartifact:DisposePackageVersions", Package)] }
        }
        O::GetAssociatedPackageGroup => {
            const { &[need("codeartifact:GetAssociatedPackageGroup", PackageGroup)] }
        }
        O::GetAuthorizationToken => {
            const {
                &[
                    need("codeartifact:GetAuthorizationToken", Domain),
                    need("sts:GetServiceBearerToken", Bearer),
                ]
            }
        }
        O::GetDomainPermissionsPolicy => {
            const { &[need("codeartifact:GetDomainPermissionsPolicy", Domain)] }
        }
        O::GetPackageVersionAsset => {
            const { &[need("codeartifact:GetPackageVersionAsset", Package)] }
        }
        O::GetPackageVersionReadme => {
            const { &[need("codeartifact:GetPackageVersionReadme", Package)] }
        }
        O::GetRepositoryEndpoint => {
            const { &[need("codeartifact:GetRepositoryEndpoint", Repository)] }
        }
        O::GetRepositoryPermissionsPolicy => {
            const {
                &[need(
                    "codeartifact:GetRepositoryPermissionsPolicy",
                    Repository,
                )]
            }
        }
        O::ListAllowedRepositoriesForGroup => {
            const {
                &[need(
                    "codeartifact:ListAllowedRepositoriesForGroup",
                    PackageGroup,
                )]
            }
        }
        O::ListAssociatedPackages => {
            const { &[need("codeartifact:ListAssociatedPackages", PackageGroup)] }
        }
        O::ListDomains => const { &[need("codeartifact:ListDomains", Account)] },
        O::ListPackageGroups => const { &[need("codeartifact:ListPackageGroups", Domain)] },
        O::ListPackageVersionAssets => {
            const { &[need("codeartifact:ListPackageVersionAssets", Package)] }
        }
        O::ListPackageVersionDependencies => {
            const { &[need("codeartifact:ListPackageVersionDependencies", Package)] }
        }
        O::ListPackageVersions => const { &[need("codeartifact:ListPackageVersions", Package)] },
        O::ListPackages => const { &[need("codeartifact:ListPackages", Repository)] },
        O::ListRepositories => const { &[need("codeartifact:ListRepositories", Account)] },
        O::ListRepositoriesInDomain => {
            const { &[need("codeartifact:ListRepositoriesInDomain", Domain)] }
        }
        O::ListSubPackageGroups => {
            const { &[need("codeartifact:ListSubPackageGroups", PackageGroup)] }
        }
        O::ListTagsForResource => {
            const { &[need("codeartifact:ListTagsForResource", TaggedResource)] }
        }
        O::PublishPackageVersion => {
            const { &[need("codeartifact:PublishPackageVersion", Package)] }
        }
        O::PutDomainPermissionsPolicy => {
            const {
                &[identity_only(
                    "codeartifact:PutDomainPermissionsPolicy",
                    Domain,
                )]
            }
        }
        O::PutPackageOriginConfiguration => {
            const { &[need("codeartifact:PutPackageOriginConfiguration", Package)] }
        }
        O::PutRepositoryPermissionsPolicy => {
            const {
                &[identity_only(
                    "codeartifact:PutRepositoryPermissionsPolicy",
                    Repository,
                )]
            }
        }
        O::TagResource => const { &[need("codeartifact:TagResource", TaggedResource)] },
        O::UntagResource => const { &[need("codeartifact:UntagResource", TaggedResource)] },
        O::UpdatePackageGroup => const { &[need("codeartifact:UpdatePackageGroup", PackageGroup)] },
        O::UpdatePackageGroupOriginConfiguration => {
            const {
                &[need(
                    "codeartifact:UpdatePackageGroupOriginConfiguration",
                    PackageGroup,
                )]
            }
        }
        O::UpdatePackageVersionsStatus => {
            const { &[need("codeartifact:UpdatePackageVersionsStatus", Package)] }
        }
        O::UpdateRepository => {
            const {
                &[
                    need("codeartifact:UpdateRepository", Repository),
                    need_if(
                        "codeartifact:AssociateWithDownstreamRepository",
                        Upstream,
                        When::UpstreamsGiven,
                    ),
                ]
            }
        }
    }
}

/// The classes of repository-endpoint routes, whatever the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Any read: metadata, indexes, files (and, through upstreams, fetching them).
    Read,
    /// Uploading a version or a file of one (npm publish, twine, mvn deploy, cargo publish).
    Publish,
    /// Changing a package's metadata: npm dist-tags and deprecation, Maven's
    /// `maven-metadata.xml` upload.
    PutMetadata,
}

impl RouteClass {
    pub const ALL: [RouteClass; 3] = [
        RouteClass::Read,
        RouteClass::Publish,
        RouteClass::PutMetadata,
    ];
}

/// What a repository-endpoint route of class `class` needs. `ReadFromRepository` cannot be
/// scoped to packages; publishing and metadata changes are checked on the package ARN.
pub fn route(class: RouteClass) -> &'static [Need] {
    match class {
        RouteClass::Read => const { &[need("codeartifact:ReadFromRepository", On::Repository)] },
        RouteClass::Publish => const { &[need("codeartifact:PublishPackageVersion", On::Package)] },
        RouteClass::PutMetadata => {
            const { &[need("codeartifact:PutPackageMetadata", On::Package)] }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_row_naming_a_known_action() {
        for op in Operation::ALL {
            let row = operation(op);
            assert!(!row.is_empty(), "{op:?} has no row");
            // Each operation's own action comes first, with its own name.
            assert_eq!(
                row[0].action,
                format!("codeartifact:{}", op.name()),
                "{op:?}"
            );
            for need in row {
                let (service, name) = need.action.split_once(':').expect("prefixed");
                assert!(
                    service == "sts" || crate::access::ACTIONS.contains(&name),
                    "{op:?}: {}",
                    need.action
                );
            }
        }
        for class in RouteClass::ALL {
            assert_eq!(route(class).len(), 1);
        }
    }

    #[test]
    fn the_rows_the_service_documents_specially() {
        let actions = |op| {
            operation(op)
                .iter()
                .map(|n| (n.action, n.on, n.when))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            actions(Operation::GetPackageVersionAsset),
            [(
                "codeartifact:GetPackageVersionAsset",
                On::Package,
                When::Always
            )]
        );
        assert!(actions(Operation::CreateRepository).contains(&(
            "codeartifact:AssociateWithDownstreamRepository",
            On::Upstream,
            When::UpstreamsGiven
        )));
        assert!(!operation(Operation::PutRepositoryPermissionsPolicy)[0].consult_resource_policy);
        assert!(operation(Operation::GetRepositoryPermissionsPolicy)[0].consult_resource_policy);
    }
}
