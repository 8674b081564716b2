//! An operation's path and query parameters, and the schemas dropshot can take for them.

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use openapiv3::{
    Parameter, ParameterSchemaOrContent, ReferenceOr, Schema, SchemaKind, Type,
    VariantOrUnknownOrEmpty,
};

use super::operation::{location, path_template_names, OpContext};
use super::resolve::{resolve_component, resolve_schema, schema_ref_name};
use crate::model::{IntegerFormat, Param, ParamSchema, StringFormat};

impl OpContext<'_> {
    pub(super) fn parameters(
        &mut self,
        path: &str,
        path_level: &[ReferenceOr<Parameter>],
        op_level: &[ReferenceOr<Parameter>],
    ) -> (Vec<Param>, Vec<Param>) {
        // Operation-level parameters override path-level ones with the same
        // name and location (OpenAPI 3.0 §4.7.9).
        let mut resolved: Vec<Parameter> = Vec::new();
        for parameter in path_level.iter().chain(op_level) {
            match resolve_component(
                parameter,
                "#/components/parameters/",
                &self.components.parameters,
            ) {
                Ok(parameter) => {
                    let key = (
                        location(parameter),
                        parameter.parameter_data_ref().name.clone(),
                    );
                    resolved.retain(|known| {
                        (location(known), known.parameter_data_ref().name.clone()) != key
                    });
                    resolved.push(parameter.clone());
                }
                Err(reason) => self.unsupported(format!("parameter: {reason}")),
            }
        }

        let template = match path_template_names(path) {
            Ok(names) => names,
            Err(reason) => {
                self.unsupported(reason);
                Vec::new()
            }
        };
        let mut path_params = Vec::new();
        let mut query_params = Vec::new();
        for parameter in &resolved {
            let data = parameter.parameter_data_ref();
            let name = &data.name;
            let schema = match &data.format {
                ParameterSchemaOrContent::Schema(schema) => schema,
                ParameterSchemaOrContent::Content(_) => {
                    self.unsupported(format!(
                        "parameter `{name}` uses `content`; only `schema` parameters are supported"
                    ));
                    continue;
                }
            };
            let Some(param_schema) = self.param_schema(name, schema) else {
                continue;
            };
            let param = Param {
                name: name.clone(),
                description: data.description.clone(),
                required: data.required,
                schema: param_schema,
            };
            match parameter {
                Parameter::Path { .. } => {
                    if !template.contains(name) {
                        self.unsupported(format!(
                            "path parameter `{name}` does not appear in the path"
                        ));
                    }
                    if !data.required {
                        self.unsupported(format!("path parameter `{name}` must be required"));
                    }
                    path_params.push(param);
                }
                Parameter::Query { .. } => query_params.push(param),
                Parameter::Header { .. } | Parameter::Cookie { .. } => {
                    self.unsupported(format!(
                        "{} parameter `{name}` is not supported by the generator; \
                         only path and query parameters are",
                        location(parameter)
                    ));
                }
            }
        }
        for name in &template {
            if !path_params.iter().any(|param| &param.name == name) {
                self.unsupported(format!("path segment `{{{name}}}` has no path parameter"));
            }
        }
        for (list, what) in [(&path_params, "path"), (&query_params, "query")] {
            let mut fields = BTreeSet::new();
            for param in list {
                let field = param.name.to_snake_case();
                if !fields.insert(field.clone()) {
                    self.unsupported(format!(
                        "two {what} parameters map to the same Rust field `{field}`"
                    ));
                }
            }
        }
        (path_params, query_params)
    }

    fn param_schema(&mut self, name: &str, schema: &ReferenceOr<Schema>) -> Option<ParamSchema> {
        let schema_item = match schema {
            ReferenceOr::Reference { reference } => {
                let Some(target) = schema_ref_name(reference) else {
                    self.unsupported(format!("parameter `{name}`: `{reference}` is not a schema"));
                    return None;
                };
                // A named schema works as a field type as long as it is a
                // scalar (dropshot cannot take objects in a path or query).
                let scalar = resolve_schema(schema, self.components).is_some_and(|s| {
                    matches!(
                        s.schema_kind,
                        SchemaKind::Type(
                            Type::String(_) | Type::Integer(_) | Type::Number(_) | Type::Boolean(_)
                        )
                    )
                });
                if !scalar {
                    self.unsupported(format!(
                        "parameter `{name}`: `{reference}` is not a string, number or boolean schema"
                    ));
                    return None;
                }
                return Some(ParamSchema::Named(target.to_string()));
            }
            ReferenceOr::Item(schema) => schema,
        };
        if schema_item.schema_data.default.is_some() {
            self.unsupported(format!(
                "parameter `{name}`: `default` cannot be expressed by the generated struct; \
                 describe the default in the description"
            ));
            return None;
        }
        let result = match &schema_item.schema_kind {
            SchemaKind::Type(Type::String(string)) => {
                if !string.enumeration.is_empty() {
                    Err("an inline enum; put it in components.schemas and $ref it".to_string())
                } else {
                    let format = match &string.format {
                        VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::DateTime) => {
                            StringFormat::DateTime
                        }
                        VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Date) => {
                            StringFormat::Date
                        }
                        VariantOrUnknownOrEmpty::Unknown(format) if format == "uuid" => {
                            StringFormat::Uuid
                        }
                        _ => StringFormat::Plain,
                    };
                    Ok(ParamSchema::String {
                        format,
                        min_length: string.min_length,
                        max_length: string.max_length,
                        pattern: string.pattern.clone(),
                    })
                }
            }
            SchemaKind::Type(Type::Integer(integer)) => {
                if !integer.enumeration.is_empty()
                    || integer.exclusive_minimum
                    || integer.exclusive_maximum
                    || integer.multiple_of.is_some()
                {
                    Err("enum, exclusive bounds or multipleOf on an integer".to_string())
                } else {
                    let format = match &integer.format {
                        VariantOrUnknownOrEmpty::Item(openapiv3::IntegerFormat::Int32) => {
                            IntegerFormat::Int32
                        }
                        _ => IntegerFormat::Int64,
                    };
                    Ok(ParamSchema::Integer {
                        format,
                        minimum: integer.minimum,
                        maximum: integer.maximum,
                    })
                }
            }
            SchemaKind::Type(Type::Number(number)) => {
                if !number.enumeration.is_empty()
                    || number.exclusive_minimum
                    || number.exclusive_maximum
                    || number.multiple_of.is_some()
                {
                    Err("enum, exclusive bounds or multipleOf on a number".to_string())
                } else {
                    Ok(ParamSchema::Number {
                        minimum: number.minimum,
                        maximum: number.maximum,
                    })
                }
            }
            SchemaKind::Type(Type::Boolean(boolean)) if boolean.enumeration.is_empty() => {
                Ok(ParamSchema::Boolean)
            }
            _ => Err("only string, integer, number and boolean schemas are supported".to_string()),
        };
        match result {
            Ok(schema) => Some(schema),
            Err(reason) => {
                self.unsupported(format!("parameter `{name}`: {reason}"));
                None
            }
        }
    }
}
