//! A repository's upstream graph in search order, as the registry resolves a version
//! (`registry::resolve`): the repository itself, then each upstream in the order it was
//! given, depth first, each repository once; a repository's external connection is asked
//! after its upstreams. Drawn as an SVG on the server.

use crate::registry::{self, Registry, RepositoryRecord};
use maud::{html, Markup};
use std::collections::HashSet;

/// One stop of the search order.
#[derive(Debug, Clone)]
pub enum Stop {
    Repository(RepositoryRecord),
    /// An external connection, with the repository that holds it.
    External {
        connection: String,
        via: String,
    },
}

/// A stop, where it hangs in the tree, and who points at it.
#[derive(Debug, Clone)]
pub struct Node {
    pub stop: Stop,
    pub depth: usize,
    pub parent: Option<usize>,
}

impl Node {
    pub fn label(&self) -> String {
        match &self.stop {
            Stop::Repository(r) => r.name.clone(),
            Stop::External { connection, .. } => connection.clone(),
        }
    }
}

/// The search order from `repo`.
pub fn search_order(registry: &Registry, repo: &RepositoryRecord) -> registry::Result<Vec<Node>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    visit(registry, repo, 0, None, &mut seen, &mut out)?;
    Ok(out)
}

fn visit(
    registry: &Registry,
    repo: &RepositoryRecord,
    depth: usize,
    parent: Option<usize>,
    seen: &mut HashSet<String>,
    out: &mut Vec<Node>,
) -> registry::Result<()> {
    if !seen.insert(repo.id.clone()) {
        return Ok(());
    }
    let at = out.len();
    out.push(Node {
        stop: Stop::Repository(repo.clone()),
        depth,
        parent,
    });
    for link in &repo.upstreams {
        match registry.repository(repo.domain_id(), &link.name) {
            Ok(found) if found.id == link.id => {
                visit(registry, &found, depth + 1, Some(at), seen, out)?;
            }
            Ok(_) | Err(registry::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    for connection in &repo.external_connections {
        out.push(Node {
            stop: Stop::External {
                connection: connection.clone(),
                via: repo.name.clone(),
            },
            depth: depth + 1,
            parent: Some(at),
        });
    }
    Ok(())
}

const ROW: usize = 44;
const INDENT: usize = 36;
const BOX_W: usize = 300;
const BOX_H: usize = 30;

/// The graph as an SVG: one row per stop in search order, indented by depth, with an edge
/// from each repository to the upstreams it lists.
pub fn svg(nodes: &[Node]) -> Markup {
    let depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    let width = 20 + depth * INDENT + BOX_W + 20;
    let height = 10 + nodes.len() * ROW;
    let x = |n: &Node| 10 + n.depth * INDENT;
    let y = |i: usize| 10 + i * ROW;
    html! {
        svg.graph xmlns="http://www.w3.org/2000/svg" role="img" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) aria-label="Upstream graph in search order" {
            @for (i, node) in nodes.iter().enumerate() {
                @if let Some(parent) = node.parent {
                    path.edge d=(format!(
                        "M{} {} V{} H{}",
                        x(&nodes[parent]) + 12,
                        y(parent) + BOX_H,
                        y(i) + BOX_H / 2,
                        x(node)
                    )) {}
                }
            }
            @for (i, node) in nodes.iter().enumerate() {
                @let class = match node.stop { Stop::Repository(_) => "node", Stop::External { .. } => "node external" };
                g class=(class) data-order=(i + 1) {
                    rect x=(x(node)) y=(y(i)) rx="5" width=(BOX_W) height=(BOX_H) {}
                    text x=(x(node) + 10) y=(y(i) + 20) {
                        (format!("{}. {}", i + 1, node.label()))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::console::graph::{svg, Node, Stop};

    #[test]
    fn names_in_the_graph_are_escaped() {
        let node = Node {
            stop: Stop::External {
                connection: "<script>x</script>".to_string(),
                via: "a".to_string(),
            },
            depth: 0,
            parent: None,
        };
        let out = svg(&[node]).into_string();
        assert!(out.contains("1. &lt;script&gt;x&lt;/script&gt;"), "{out}");
        assert!(!out.contains("<script>"));
    }
}
