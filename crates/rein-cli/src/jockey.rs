//! `rein jockey ...`: assets, knowledge stores, items and questions against Jockey (or
//! anything speaking it).

use std::path::PathBuf;

use clap::Subcommand;
use rein::blocking::Jockey;
use rein::jockey::{
    AddItem, CreateKnowledgeStore, CreateResponse, ListAssets, ListItems, ListKnowledgeStores,
    ResponseEvent,
};
use rein::Fleet;
use serde_json::json;

use crate::output::Output;
use crate::{CliError, Global};

/// Jockey's commands.
#[derive(Debug, Subcommand)]
pub(crate) enum JockeyCommand {
    /// Assets: upload, get, list, delete.
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// Knowledge stores: create, get, list, delete.
    #[command(subcommand)]
    Stores(StoresCommand),
    /// Knowledge store items: add, get, list, wait.
    #[command(subcommand)]
    Items(ItemsCommand),
    /// Asks a question over a store.
    Ask {
        /// The store to ask over.
        #[arg(long)]
        store: String,
        /// The question.
        question: String,
        /// Continue this session.
        #[arg(long)]
        session: Option<String>,
        /// Print the answer as it is generated.
        #[arg(long)]
        stream: bool,
    },
}

/// `rein jockey assets ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AssetsCommand {
    /// Uploads a file directly (up to 200 MB), or a public URL.
    Upload {
        /// The file to upload.
        #[arg(required_unless_present = "url", conflicts_with = "url")]
        file: Option<PathBuf>,
        /// A public http(s) URL of the media instead.
        #[arg(long)]
        url: Option<String>,
        /// Wait until the asset is ready or failed.
        #[arg(long)]
        wait: bool,
    },
    /// One asset.
    Get {
        /// The asset's id.
        id: String,
    },
    /// Every asset.
    List,
    /// Deletes an asset.
    Delete {
        /// The asset's id.
        id: String,
        /// Even when indexed items reference it.
        #[arg(long)]
        force: bool,
    },
}

/// `rein jockey stores ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum StoresCommand {
    /// Creates a store.
    Create {
        /// Its name.
        name: String,
    },
    /// One store.
    Get {
        /// The store's id.
        id: String,
    },
    /// Every store.
    List,
    /// Deletes a store.
    Delete {
        /// The store's id.
        id: String,
    },
}

/// `rein jockey items ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ItemsCommand {
    /// Adds an asset to a store.
    Add {
        /// The store.
        #[arg(long)]
        store: String,
        /// The asset (ready) to add.
        #[arg(long)]
        asset: String,
        /// Wait until it is indexed or failed.
        #[arg(long)]
        wait: bool,
    },
    /// One item.
    Get {
        /// The store.
        #[arg(long)]
        store: String,
        /// The item's id.
        id: String,
    },
    /// Every item of a store.
    List {
        /// The store.
        #[arg(long)]
        store: String,
    },
    /// Waits on items as one fleet: the ids given, or every item of the store not yet ready
    /// or failed.
    Wait {
        /// The store.
        #[arg(long)]
        store: String,
        /// The items (all pending ones when none is given).
        ids: Vec<String>,
    },
}

/// The Jockey client: `TWELVELABS_API_KEY`, and `--base-url` over `TWELVELABS_BASE_URL`.
fn client(global: &Global, out: &Output) -> Result<Jockey, CliError> {
    let mut builder = Jockey::builder_from_env()?;
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(scale) = global.time_scale {
        builder = builder.time_scale(scale);
    }
    let jockey = builder.on_event(out.narrator().hook()).build()?;
    Ok(match global.timeout {
        Some(timeout) => jockey.with_timeout(timeout),
        None => jockey,
    })
}

pub(crate) fn run(command: JockeyCommand, global: &Global, out: &Output) -> Result<(), CliError> {
    let jockey = client(global, out)?;
    match command {
        JockeyCommand::Assets(command) => assets(&jockey, command, out),
        JockeyCommand::Stores(command) => stores(&jockey, command, out),
        JockeyCommand::Items(command) => items(&jockey, command, out),
        JockeyCommand::Ask { store, question, session, stream } => {
            let mut ask = CreateResponse::ask(store, question);
            if let Some(session) = session {
                ask = ask.session_id(session);
            }
            if !stream {
                let response = jockey.create_response(&ask)?;
                return out.value(&response, || response.output_text());
            }
            for event in jockey.stream_response(&ask)? {
                if let ResponseEvent::OutputTextDelta(delta) = event? {
                    out.piece(&json!({ "delta": delta.delta }), &delta.delta);
                }
            }
            out.end_pieces();
            Ok(())
        }
    }
}

fn assets(jockey: &Jockey, command: AssetsCommand, out: &Output) -> Result<(), CliError> {
    match command {
        AssetsCommand::Upload { file, url, wait } => {
            let asset = match (file, url) {
                (_, Some(url)) => jockey.upload_url(&url)?,
                (Some(file), None) => {
                    let _spinner = out.spinner(format!("uploading {}", file.display()));
                    jockey.upload_file(&file)?
                }
                (None, None) => unreachable_by_clap(),
            };
            if wait {
                let ready = jockey.wait_for_asset(&asset)?;
                return out
                    .value(&ready, || format!("{} {}", ready.id, shown(ready.status.as_ref())));
            }
            out.value(&asset, || asset.id.to_string())
        }
        AssetsCommand::Get { id } => {
            let asset = jockey.get_asset(id)?;
            out.value(&asset, || format!("{} {}", asset.id, shown(asset.status.as_ref())))
        }
        AssetsCommand::List => {
            let assets: Vec<_> =
                jockey.assets(ListAssets::new().page_limit(50)).collect::<Result<_, _>>()?;
            out.value(&assets, || {
                assets
                    .iter()
                    .map(|a| format!("{} {}", a.id, shown(a.status.as_ref())))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AssetsCommand::Delete { id, force } => {
            jockey.delete_asset(id.clone(), force)?;
            out.value(&json!({ "deleted": id }), || format!("deleted {id}"))
        }
    }
}

fn stores(jockey: &Jockey, command: StoresCommand, out: &Output) -> Result<(), CliError> {
    match command {
        StoresCommand::Create { name } => {
            let store = jockey.create_store(&CreateKnowledgeStore::new(name))?;
            out.value(&store, || store.id.to_string())
        }
        StoresCommand::Get { id } => {
            let store = jockey.get_store(id)?;
            out.value(&store, || format!("{} {}", store.id, store.name.as_deref().unwrap_or("")))
        }
        StoresCommand::List => {
            let stores: Vec<_> = jockey
                .stores(ListKnowledgeStores::new().page_limit(50))
                .collect::<Result<_, _>>()?;
            out.value(&stores, || {
                stores
                    .iter()
                    .map(|s| format!("{} {}", s.id, s.name.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        StoresCommand::Delete { id } => {
            jockey.delete_store(id.clone())?;
            out.value(&json!({ "deleted": id }), || format!("deleted {id}"))
        }
    }
}

fn items(jockey: &Jockey, command: ItemsCommand, out: &Output) -> Result<(), CliError> {
    match command {
        ItemsCommand::Add { store, asset, wait } => {
            let item = jockey.add_item(&AddItem::new(store.clone(), asset))?;
            if wait {
                let indexed = jockey.wait_for_item(store, item.id)?;
                return out.value(&indexed, || {
                    format!("{} {}", indexed.id, shown(indexed.status.as_ref()))
                });
            }
            out.value(&item, || item.id.to_string())
        }
        ItemsCommand::Get { store, id } => {
            let item = jockey.get_item(store, id)?;
            out.value(&item, || format!("{} {}", item.id, shown(item.status.as_ref())))
        }
        ItemsCommand::List { store } => {
            let items: Vec<_> =
                jockey.items(ListItems::new(store).page_limit(50)).collect::<Result<_, _>>()?;
            out.value(&items, || {
                items
                    .iter()
                    .map(|i| format!("{} {}", i.id, shown(i.status.as_ref())))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ItemsCommand::Wait { store, ids } => {
            let ids: Vec<rein::jockey::ItemId> = if ids.is_empty() {
                jockey
                    .items(ListItems::new(store.clone()).page_limit(50))
                    .filter_map(|item| match item {
                        Ok(item)
                            if !matches!(
                                item.status.as_ref().map(|s| s.as_str()),
                                Some("ready" | "failed")
                            ) =>
                        {
                            Some(Ok(item.id))
                        }
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()?
            } else {
                ids.into_iter().map(Into::into).collect()
            };
            out.line(&format!("waiting on {} items", ids.len()));
            let report = jockey.wait_all(Fleet::items(store, ids))?;
            let ends = crate::output::fleet_ends(&report);
            out.value(&ends, || crate::output::fleet_lines(&ends))
        }
    }
}

/// clap requires a file or a URL for an upload.
fn unreachable_by_clap() -> ! {
    eprintln!("rein: give a file or --url");
    std::process::exit(i32::from(crate::output::exit::USAGE))
}

/// A status as the server spelled it, or `?` when it gave none.
fn shown<T: std::fmt::Display>(status: Option<&T>) -> String {
    status.map_or_else(|| "?".to_owned(), ToString::to_string)
}
