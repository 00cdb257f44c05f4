//! The async Jockey client.

use rein_core::{Api, ClientConfig, Error};

use crate::client::{handle_options, ApiClient, ClientBuilder, Handle};

/// An async client of Twelve Labs' Jockey API (`https://api.twelvelabs.io/v1.3`).
#[derive(Clone, Debug)]
pub struct Jockey {
    pub(crate) handle: Handle,
}

impl ApiClient for Jockey {
    const API: Api = Api::Jockey;
}

handle_options!(Jockey);

impl Jockey {
    /// A client from `TWELVELABS_API_KEY` (and `TWELVELABS_BASE_URL`, if set).
    pub fn from_env() -> Result<Jockey, Error> {
        Jockey::builder_from_env()?.build()
    }

    /// A builder from `TWELVELABS_API_KEY` (and `TWELVELABS_BASE_URL`, if set).
    pub fn builder_from_env() -> Result<ClientBuilder<Jockey>, Error> {
        Ok(ClientBuilder::new(ClientConfig::from_env(Api::Jockey, |v| std::env::var(v).ok())?))
    }

    /// A builder with `key`.
    pub fn builder(key: impl Into<rein_core::ApiKey>) -> ClientBuilder<Jockey> {
        ClientBuilder::new(ClientConfig::new(Api::Jockey, key))
    }
}
