//! `nateq contacts update <ID> [FIELDS]`: one update, the contact printed on stdout.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use nateq_api::{ContactId, ContactUpdate};
use serde_json::{Map, Value};

use crate::cli::{GlobalArgs, UpdateArgs};
use crate::connect::connect;
use crate::exit::{CliError, Exit};
use crate::output::print_json;

/// Validates, sends the update, prints the updated contact.
///
/// A 2xx whose body drifted from the spec was applied: the drift goes to stderr, the
/// contact as it came back (the response's `data`, undecoded) to stdout, and the exit code is
/// [`Exit::Drift`], not a failure.
pub async fn run(global: &GlobalArgs, args: &UpdateArgs) -> anyhow::Result<Exit> {
    // Refuse bad input before starting anything (an emulator, a connection pool).
    ContactId::new(&args.id)?;
    let update = match &args.body {
        Some(path) => with_body(path, args.fields.values())?,
        None => args.fields.to_update()?,
    };
    update.to_request()?;

    let connection = connect(global, None).await?;
    tracing::info!(
        id = %args.id,
        fields = %serde_json::to_string(&update).unwrap_or_default(),
        "updating contact"
    );
    match connection.client.contacts().update(&args.id, update).await {
        Ok(contact) => print_json(&contact, global.output).map(|()| Exit::Ok),
        Err(nateq_api::Error::ResponseDrift(drift)) => {
            eprintln!("warning: {drift}");
            let data = serde_json::from_slice::<serde_json::Value>(drift.body())
                .ok()
                .and_then(|mut body| body.get_mut("data").map(serde_json::Value::take));
            if let Some(data) = data {
                print_json(&data, global.output)?;
            }
            Ok(Exit::Drift)
        }
        Err(e) => Err(e.into()),
    }
}

/// The update of `--body FILE` (`-`: stdin), a JSON object of the request's properties, with
/// the field flags given laid over it (flags win). Every property is checked against the
/// spec's field table (its name and the JSON type of its value) before anything is sent; the
/// values' limits are checked by the caller, as for flags.
fn with_body(path: &Path, flags: &Map<String, Value>) -> anyhow::Result<ContactUpdate> {
    let name = if path == Path::new("-") {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let mut text = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut text))
    };
    read.with_context(|| format!("cannot read --body {name}"))?;
    body_update(&text, flags)
        .map_err(|message| CliError::validation(format!("--body {name}: {message}")).into())
}

/// The update of a body's bytes with the flags laid over it, or what is wrong with it.
fn body_update(text: &[u8], flags: &Map<String, Value>) -> Result<ContactUpdate, String> {
    let mut object: Map<String, Value> = match serde_json::from_slice(text) {
        Ok(object) => object,
        Err(e) if e.is_data() => return Err("not a JSON object".to_string()),
        Err(e) => {
            return Err(format!(
                "invalid JSON at line {} column {}",
                e.line(),
                e.column()
            ));
        }
    };
    if let Some(unknown) = object.keys().find(|k| crate::fields::find(k).is_none()) {
        let names: Vec<&str> = crate::fields::names().collect();
        return Err(format!(
            "unknown property {unknown:?}; the properties are {}",
            names.join(", ")
        ));
    }
    crate::bulk::input::check_kinds(&object)?;
    object.extend(flags.iter().map(|(k, v)| (k.clone(), v.clone())));
    serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_checked_field_by_field_and_flags_win() {
        let flags: Map<String, Value> =
            serde_json::from_str(r#"{"name":"From the flag"}"#).unwrap();
        let update = body_update(
            br#"{"name":"From the body","doNotContact":true,"type":"guest"}"#,
            &flags,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            serde_json::json!({"name":"From the flag","doNotContact":true,"type":"guest"})
        );
        let error = |body: &str| body_update(body.as_bytes(), &Map::new()).unwrap_err();
        let unknown = error(r#"{"nmae":"x"}"#);
        let names: Vec<&str> = crate::fields::names().collect();
        assert_eq!(
            unknown,
            format!(
                r#"unknown property "nmae"; the properties are {}"#,
                names.join(", ")
            )
        );
        assert!(error(r#"{"id":"ct_1"}"#).starts_with(r#"unknown property "id""#));
        assert_eq!(
            error(r#"{"doNotContact":"yes"}"#),
            "invalid doNotContact: expected true or false, not a string"
        );
        assert_eq!(
            error(r#"{"name":null}"#),
            "invalid name: expected a string, not null (leave the field out to keep its value)"
        );
        assert_eq!(error("[1]"), "not a JSON object");
        assert_eq!(error("{\n\"name\":"), "invalid JSON at line 2 column 7");
        // Values are checked as the flags' are, by the SDK before sending.
        let vip = body_update(br#"{"type":"vip"}"#, &Map::new()).unwrap();
        assert!(vip.to_request().is_err());
    }
}
