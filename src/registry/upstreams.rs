//! The upstream graph: the order in which a repository and its upstreams are searched.

use super::{PackageId, Registry, RepositoryRecord, Result, VersionRecord};

/// At most this many repositories are searched for one request, as in AWS.
pub const MAX_SEARCHED: usize = 25;

impl Registry {
    /// The repositories searched for a request on `repo`, in order: the repository itself,
    /// then each upstream depth-first (an upstream's own upstreams before the next sibling).
    /// Cycles are tolerated; links to deleted repositories are skipped.
    pub fn search_order(&self, repo: &RepositoryRecord) -> Result<Vec<RepositoryRecord>> {
        let mut order: Vec<RepositoryRecord> = Vec::new();
        let mut stack = vec![repo.clone()];
        while let Some(current) = stack.pop() {
            if order.len() >= MAX_SEARCHED || order.iter().any(|r| r.id == current.id) {
                continue;
            }
            for upstream in current.upstreams.iter().rev() {
                match self.repository(current.domain_id(), &upstream.name) {
                    Ok(found) if found.id == upstream.id => stack.push(found),
                    Ok(_) | Err(super::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            order.push(current);
        }
        Ok(order)
    }

    /// The first copy of a version found in `repo`'s upstream graph, not in `repo` itself.
    pub fn find_in_upstreams(
        &self,
        repo: &RepositoryRecord,
        p: &PackageId,
        version: &str,
    ) -> Result<Option<VersionRecord>> {
        for upstream in self.search_order(repo)?.iter().skip(1) {
            match self.version(upstream, p, version) {
                Ok(found) => return Ok(Some(found)),
                Err(super::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}
