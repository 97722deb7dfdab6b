//! Field types and the built-in schema of each module.

use std::collections::HashMap;
use std::fmt;

/// The type of a record field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    Text,
    Number,
    Bool,
    Date,
    Email,
    Phone,
    Tz,
    Enum(Vec<String>),
}

impl Type {
    /// Parses a type name (`enum(...)` is built by the checker).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "text" => Type::Text,
            "number" => Type::Number,
            "bool" => Type::Bool,
            "date" => Type::Date,
            "email" => Type::Email,
            "phone" => Type::Phone,
            "tz" => Type::Tz,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &[
        "text", "number", "bool", "date", "email", "phone", "tz", "enum",
    ];

    /// Text, email, phone, tz and enums hold text and compare with strings.
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            Type::Text | Type::Email | Type::Phone | Type::Tz | Type::Enum(_)
        )
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Text => f.write_str("text"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Date => f.write_str("date"),
            Type::Email => f.write_str("email"),
            Type::Phone => f.write_str("phone"),
            Type::Tz => f.write_str("tz"),
            Type::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                write!(f, "enum({})", quoted.join(", "))
            }
        }
    }
}

/// The CRM module a cadence works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Module {
    Leads,
    #[default]
    Contacts,
    Deals,
}

impl Module {
    pub fn from_name(name: &str) -> Option<Module> {
        Some(match name {
            "leads" => Module::Leads,
            "contacts" => Module::Contacts,
            "deals" => Module::Deals,
            _ => None?,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Module::Leads => "leads",
            Module::Contacts => "contacts",
            Module::Deals => "deals",
        }
    }

    /// The built-in fields of the module, in order.
    pub fn builtin_fields(self) -> Vec<(&'static str, Type)> {
        let contact = [
            ("id", Type::Text),
            ("first_name", Type::Text),
            ("last_name", Type::Text),
            ("email", Type::Email),
            ("phone", Type::Phone),
            ("company", Type::Text),
            ("title", Type::Text),
            ("owner", Type::Text),
            ("status", Type::Text),
            ("timezone", Type::Tz),
            ("created_at", Type::Date),
        ];
        match self {
            Module::Contacts => contact.to_vec(),
            Module::Leads => {
                let mut v = contact.to_vec();
                v.push(("lead_source", Type::Text));
                v.push(("lead_status", Type::Text));
                v
            }
            Module::Deals => vec![
                ("id", Type::Text),
                ("name", Type::Text),
                ("stage", Type::Text),
                ("amount", Type::Number),
                ("closing_date", Type::Date),
                ("owner", Type::Text),
                ("contact_email", Type::Email),
                ("created_at", Type::Date),
            ],
        }
    }

    /// The field an email step sends to.
    pub fn email_field(self) -> &'static str {
        match self {
            Module::Deals => "contact_email",
            _ => "email",
        }
    }
}

/// Index of a field in a [`Schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub usize);

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub builtin: bool,
}

/// The fields of a module plus the declared ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub module: Module,
    pub fields: Vec<FieldDef>,
    index: HashMap<String, FieldId>,
}

impl Schema {
    pub fn new(module: Module) -> Schema {
        let mut s = Schema {
            module,
            fields: Vec::new(),
            index: HashMap::new(),
        };
        for (name, ty) in module.builtin_fields() {
            s.push(name, ty, true);
        }
        s
    }

    /// Adds a field; returns `false` when the name is taken.
    pub fn push(&mut self, name: &str, ty: Type, builtin: bool) -> bool {
        if self.index.contains_key(name) {
            return false;
        }
        self.index
            .insert(name.to_string(), FieldId(self.fields.len()));
        self.fields.push(FieldDef {
            name: name.to_string(),
            ty,
            builtin,
        });
        true
    }

    pub fn lookup(&self, name: &str) -> Option<FieldId> {
        self.index.get(name).copied()
    }

    pub fn field(&self, id: FieldId) -> &FieldDef {
        &self.fields[id.0]
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// The field email steps send to.
    pub fn email_field(&self) -> Option<FieldId> {
        self.lookup(self.module.email_field())
    }
}
