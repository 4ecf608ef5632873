//! One registration per route, feeding both the router and the OpenAPI
//! document.
//!
//! A handler carries `#[utoipa::path(...)]` (what it answers) above the
//! actix-web route macro (`#[get("/api/v1/…")]`), which is the only place
//! its method and URL are written. Its module's `configure` hands it to
//! [`Routes::add`], which reads method and path back from the handler (its
//! `utoipa::Path` impl), adds the operation to the document and the handler
//! to the router. `startup::api_routes` lists the modules; the app is built
//! from that list and the document served at `/api/v1/openapi.json` is
//! collected from the same list by `utoipa_actix_web::UtoipaApp`.
//!
//! Routes that are served but deliberately not documented go through
//! [`Routes::undocumented`] and are listed in [`UNDOCUMENTED`].

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::{header, Method};
use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa_actix_web::OpenApiFactory;

/// Served, and deliberately not in the document: the document itself and
/// the Swagger UI that shows it (as `(method, path)`, the path as actix-web
/// reads it). The route test checks that this list and the app agree.
pub const UNDOCUMENTED: &[(&str, &str)] = &[
    ("GET", OPENAPI_JSON),
    ("GET", SWAGGER_UI),
    ("GET", SWAGGER_REDIRECT),
];

pub const OPENAPI_JSON: &str = "/api/v1/openapi.json";
pub const SWAGGER_UI: &str = "/docs/{_:.*}";
pub const SWAGGER_REDIRECT: &str = "/docs";

type Register = Box<dyn FnOnce(&mut AppService)>;

/// One URL: the handlers for its methods, in the order they were added.
struct Resource {
    path: String,
    methods: Vec<Method>,
    services: Vec<Register>,
    documented: bool,
}

/// Routes being registered, in matching order: actix-web tries them in the
/// order they were first added (a literal segment such as
/// `/api/v1/cases/export.csv` goes before `/api/v1/cases/{id}`).
#[derive(Default)]
pub struct Routes {
    resources: Vec<Resource>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Routes {
    /// Adds a handler annotated with `#[utoipa::path(...)]` and an actix-web
    /// route macro: it is served at the macro's method and path and
    /// documented there. A method the path does not serve gets 405 with
    /// `Allow`, as with `web::resource`.
    pub fn add<H>(&mut self, handler: H) -> &mut Self
    where
        H: HttpServiceFactory + OpenApiFactory + utoipa::Path + 'static,
    {
        let path = H::path();
        let methods: Vec<Method> = H::methods().into_iter().map(method).collect();
        self.paths.merge(handler.paths());
        handler.schemas(&mut self.schemas);
        let resource = match self
            .resources
            .iter()
            .position(|r| r.documented && r.path == path)
        {
            Some(i) => &mut self.resources[i],
            None => {
                self.resources.push(Resource {
                    path: path.clone(),
                    methods: Vec::new(),
                    services: Vec::new(),
                    documented: true,
                });
                let last = self.resources.len() - 1;
                &mut self.resources[last]
            }
        };
        for m in methods {
            assert!(
                !resource.methods.contains(&m),
                "{m} {path} is registered twice"
            );
            resource.methods.push(m);
        }
        resource
            .services
            .push(Box::new(move |config| handler.register(config)));
        self
    }

    /// Adds a route that stays out of the document; it must be listed in
    /// [`UNDOCUMENTED`] (the route test checks).
    pub fn undocumented(
        &mut self,
        method: Method,
        path: &str,
        service: impl HttpServiceFactory + 'static,
    ) -> &mut Self {
        self.resources.push(Resource {
            path: path.to_string(),
            methods: vec![method],
            services: vec![Box::new(move |config| service.register(config))],
            documented: false,
        });
        self
    }

    /// Every `(method, path)` registered, documented or not, in order.
    pub fn served(&self) -> Vec<(Method, String)> {
        self.resources
            .iter()
            .flat_map(|r| r.methods.iter().map(|m| (m.clone(), r.path.clone())))
            .collect()
    }
}

fn method(m: HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl HttpServiceFactory for Routes {
    fn register(self, config: &mut AppService) {
        for resource in self.resources {
            for service in resource.services {
                service(config);
            }
            if resource.documented {
                // After the path's handlers: any other method of this path
                // is 405, not a later, more general path's handler.
                let allow = resource.methods;
                web::resource(resource.path)
                    .to(move || {
                        let allow = allow.clone();
                        async move {
                            HttpResponse::MethodNotAllowed()
                                .insert_header(header::Allow(allow))
                                .finish()
                        }
                    })
                    .register(config);
            }
        }
    }
}

/// What `utoipa_actix_web::UtoipaApp::service` collects into the document.
impl OpenApiFactory for Routes {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}
