//! The catalogue: every text people read, Spanish first, then English.
//! `{name}` holes are filled by `i18n::fill`.

macro_rules! catalogue {
    (
        months: [$($mes:literal),+], [$($men:literal),+];
        $($key:ident: $es:literal, $en:literal;)+
    ) => {
        /// The texts of one language; one field per key.
        #[derive(Debug)]
        pub struct Texts {
            pub months: [&'static str; 12],
            $(pub $key: &'static str,)+
        }

        pub static ES: Texts = Texts { months: [$($mes),+], $($key: $es,)+ };
        pub static EN: Texts = Texts { months: [$($men),+], $($key: $en,)+ };

        /// Every key with its two texts, for the tests.
        pub const ALL: &[(&str, &str, &str)] = &[$((stringify!($key), $es, $en),)+];
    };
}

catalogue! {
    months: ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre"],
            ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"];

    // ---- dates ----
    date_day: "{day} de {month} de {year}", "{day} {month} {year}";
    date_month: "{month} de {year}", "{month} {year}";

    // ---- layout ----
    tagline: "Conflictos sociales en torno a la minería en el Perú", "Social conflicts around mining in Peru";
    skip_to_content: "Ir al contenido", "Skip to content";
    nav_main: "Navegación principal", "Main navigation";
    nav_incidents: "Incidentes", "Incidents";
    nav_new_incident: "Nuevo incidente", "New incident";
    nav_users: "Personas", "People";
    nav_account: "Mi cuenta", "My account";
    nav_api: "API para programas", "API for programs";
    sign_out: "Cerrar sesión", "Sign out";
    other_language: "English", "Español";
    other_language_code: "en", "es";
    switch_language: "Cambiar de idioma", "Change language";
    signed_in_as: "Sesión de {name}", "Signed in as {name}";
    none: "—", "—";
    yes: "sí", "yes";
    no: "no", "no";

    // ---- signing in ----
    sign_in_title: "Iniciar sesión", "Sign in";
    sign_in_intro: "Vigía registra, vincula y vigila los conflictos sociales en torno a la minería en el Perú.", "Vigía records, links and watches social conflicts around mining in Peru.";
    email: "Correo electrónico", "E-mail";
    password: "Contraseña", "Password";
    sign_in_button: "Entrar", "Sign in";
    forgot_link: "¿Olvidó su contraseña?", "Forgot your password?";
    sign_in_failed: "El correo o la contraseña no son correctos.", "The e-mail or the password is not right.";
    sign_in_locked: "Demasiados intentos fallidos. Vuelva a intentarlo dentro de {minutes} minutos.", "Too many failed attempts. Try again in {minutes} minutes.";
    session_expired: "Su sesión terminó. Vuelva a entrar.", "Your session has ended. Please sign in again.";
    forgot_title: "Recuperar la contraseña", "Recover your password";
    forgot_intro: "Escriba el correo de su cuenta y le enviaremos un enlace para elegir una contraseña nueva. El enlace vale una hora.", "Type your account's e-mail and we will send you a link to choose a new password. The link works for one hour.";
    forgot_button: "Enviar el enlace", "Send the link";
    forgot_sent: "Si existe una cuenta con ese correo, en unos minutos le llegará un enlace. Vale una hora.", "If an account exists for that e-mail, a link will arrive in a few minutes. It works for one hour.";
    set_password_title: "Elegir una contraseña", "Choose a password";
    set_password_intro: "Hola, {name}. Elija la contraseña con la que entrará a Vigía.", "Hello, {name}. Choose the password you will sign in to Vigía with.";
    password_hint: "Al menos 12 caracteres. Una frase de varias palabras es fácil de recordar y difícil de adivinar.", "At least 12 characters. A phrase of several words is easy to remember and hard to guess.";
    password_again: "Repita la contraseña", "Repeat the password";
    set_password_button: "Guardar y entrar", "Save and sign in";
    link_invalid_title: "Este enlace ya no sirve", "This link no longer works";
    link_invalid: "El enlace venció o ya fue usado. Pida uno nuevo.", "The link has expired or was already used. Ask for a new one.";
    back_to_sign_in: "Volver a iniciar sesión", "Back to sign in";

    // ---- my account ----
    account_title: "Mi cuenta", "My account";
    account_role: "Rol", "Role";
    sessions_open: "Sesiones abiertas", "Open sessions";
    sign_out_everywhere: "Cerrar sesión en todos los dispositivos", "Sign out on every device";
    sign_out_everywhere_help: "Use esto si perdió un teléfono o entró desde una computadora ajena.", "Use this if you lost a phone or signed in on someone else's computer.";

    // ---- people (admin) ----
    users_title: "Personas", "People";
    invite_title: "Invitar a una persona", "Invite someone";
    invite_help: "Le llegará un correo con un enlace para elegir su contraseña (vale 72 horas).", "They will get an e-mail with a link to choose their password (it works for 72 hours).";
    display_name: "Nombre", "Name";
    role: "Rol", "Role";
    language: "Idioma", "Language";
    invite_button: "Enviar la invitación", "Send the invitation";
    nav_keys: "Claves de la API", "API keys";
    keys_title: "Claves de la API", "API keys";
    keys_intro: "Las claves dejan que un programa (un script de R o Python, otro sistema) use la API con un rol. Cada una se muestra una sola vez al crearla.", "Keys let a program (an R or Python script, another system) use the API with a role. Each is shown only once, when it is made.";
    key_name: "Nombre de la clave", "Key name";
    key_prefix: "Comienza con", "Starts with";
    key_created: "Creada", "Created";
    key_last_used: "Último uso", "Last used";
    key_never_used: "nunca", "never";
    key_state: "Estado", "State";
    key_active: "activa", "active";
    key_revoked: "revocada el {date}", "revoked on {date}";
    key_of_person: "de una persona", "a person's";
    key_revoke: "Revocar", "Revoke";
    key_revoke_confirm: "Revocar la clave {name}? Deja de funcionar de inmediato", "Revoke the key {name}? It stops working at once";
    key_revoked_notice: "La clave «{name}» fue revocada: ya no funciona, y las alertas que creó quedaron suspendidas.", "The key “{name}” was revoked: it no longer works, and the watches it made are suspended.";
    key_create_title: "Crear una clave", "Make a key";
    key_create_button: "Crear la clave", "Make the key";
    key_created_notice: "Clave «{name}» creada. Cópiela ahora: no se volverá a mostrar.", "Key “{name}” made. Copy it now: it will not be shown again.";
    key_token: "La clave", "The key";
    key_copy: "Copiar", "Copy";
    key_copied: "Copiada.", "Copied.";
    key_usage: "Envíela como «Authorization: Bearer …».", "Send it as “Authorization: Bearer …”.";
    invited: "Invitación enviada a {email}.", "Invitation sent to {email}.";
    user_active: "Activa", "Active";
    user_pending: "Invitada, sin contraseña aún", "Invited, no password yet";
    user_disabled: "Desactivada", "Disabled";
    status: "Estado", "Status";
    disable: "Desactivar", "Disable";
    enable: "Reactivar", "Enable";
    save: "Guardar", "Save";
    cancel: "Cancelar", "Cancel";
    user_saved: "Cambios guardados para {name}.", "Changes saved for {name}.";
    actions: "Acciones", "Actions";

    // ---- roles ----
    role_admin: "administración", "admin";
    role_monitor: "monitoreo", "monitor";
    role_researcher: "investigación", "researcher";

    // ---- incident list and map ----
    incidents_title: "Incidentes", "Incidents";
    filters: "Filtros", "Filters";
    filter_from: "Desde", "From";
    filter_to: "Hasta", "To";
    filter_types: "Tipos", "Types";
    filter_region: "Región", "Region";
    filter_province: "Provincia", "Province";
    filter_district: "Distrito", "District";
    filter_verification: "Verificación", "Verification";
    filter_q: "Texto", "Text";
    filter_q_hint: "Palabras del título, la descripción o el lugar, todas; basta el comienzo («apurim» encuentra Apurímac)", "Words of the title, description or place, all of them; their start is enough (“apurim” finds Apurímac)";
    filter_concession: "Concesión (código INGEMMET)", "Concession (INGEMMET code)";
    filter_actor: "Actor", "Actor";
    any: "Cualquiera", "Any";
    apply_filters: "Aplicar", "Apply";
    clear_filters: "Quitar los filtros", "Clear filters";
    no_incidents: "Ningún incidente coincide con estos filtros.", "No incident matches these filters.";
    next_page: "Siguientes", "Next";
    first_page: "Primera página", "First page";
    col_title: "Título", "Title";
    col_date: "Fecha", "Date";
    col_type: "Tipo", "Type";
    col_place: "Lugar", "Place";
    col_verification: "Verificación", "Verification";
    map_label: "Mapa de incidentes", "Map of incidents";
    layer_districts: "Distritos", "Districts";
    layer_concessions: "Concesiones", "Concessions";
    loading: "Cargando…", "Loading…";
    incidents_word: "incidentes", "incidents";
    map_failed: "No se pudo cargar el mapa.", "The map could not be loaded.";
    download: "Descargar", "Download";
    download_help: "Los incidentes de estos filtros, para Excel, R, Python o QGIS", "The incidents of these filters, for Excel, R, Python or QGIS";
    list_caption: "Incidentes que coinciden con los filtros", "Incidents matching the filters";

    // ---- incident page ----
    description: "Descripción", "Description";
    field_title: "Título", "Title";
    field_type: "Tipo", "Type";
    field_sub_type: "Subtipo", "Subtype";
    field_date: "Fecha", "Date";
    field_time_precision: "Precisión de la fecha", "Date precision";
    field_place: "Lugar", "Place";
    field_district: "Distrito", "District";
    field_location: "Ubicación", "Location";
    field_location_precision: "Precisión del lugar", "Location precision";
    field_fatalities: "Personas fallecidas", "Fatalities";
    field_injuries: "Personas heridas", "Injuries";
    field_verification: "Verificación", "Verification";
    field_created_by: "Registrado por", "Logged by";
    field_updated: "Última modificación", "Last changed";
    actors: "Actores", "Actors";
    sources: "Fuentes", "Sources";
    concessions: "Concesiones", "Concessions";
    holder: "Titular", "Holder";
    cases: "Casos de la Defensoría", "Defensoría cases";
    history: "Historial", "History";
    history_when: "Cuándo", "When";
    history_who: "Quién", "Who";
    history_what: "Qué cambió", "What changed";
    no_history: "Sin cambios registrados.", "No recorded changes.";
    action_create: "registró", "created";
    action_update: "modificó", "changed";
    action_delete: "eliminó", "deleted";
    action_restore: "restauró", "restored";
    action_revoke: "revocó", "revoked";
    action_merge: "fusionó", "merged";
    entity_event: "el incidente", "the incident";
    entity_event_actor: "los actores", "the actors";
    entity_event_case: "los casos", "the cases";
    entity_event_concession: "las concesiones", "the concessions";
    entity_other: "un registro", "a record";
    edit: "Editar", "Edit";
    delete: "Eliminar", "Delete";
    restore: "Restaurar", "Restore";
    deleted_notice: "Este incidente fue eliminado; solo administración lo ve y puede restaurarlo.", "This incident was deleted; only admins see it and can restore it.";
    no_actors: "Ningún actor vinculado.", "No linked actor.";
    no_sources: "Sin fuentes: observación de quien lo registró.", "No sources: the logger's own observation.";
    no_concessions: "No está dentro de ninguna concesión registrada.", "Not inside any registered concession.";
    no_cases: "Sin casos vinculados.", "No linked case.";
    nav_cases: "Casos de la Defensoría", "Defensoría cases";
    cases_title: "Casos de la Defensoría del Pueblo", "Cases of the Defensoría del Pueblo";
    cases_intro: "Los conflictos sociales que la Defensoría del Pueblo registra en su Reporte de Conflictos Sociales mensual, con los incidentes vinculados.", "The social conflicts the Defensoría del Pueblo records in its monthly Reporte de Conflictos Sociales, with the linked incidents.";
    case_search: "Nombre del caso", "Case name";
    case_status: "Estado", "Status";
    case_phase: "Fase", "Phase";
    case_type: "Tipo", "Type";
    case_report_number: "N.º de reporte", "Report no.";
    case_any: "Cualquiera", "Any";
    case_region: "Región", "Region";
    case_activity: "Actividad", "Activity";
    case_companies: "Empresas", "Companies";
    case_no_companies: "Sin empresas registradas.", "No company recorded.";
    case_timeline: "Reporte a reporte", "Report by report";
    case_timeline_caption: "Estado y fase del caso en cada reporte mensual en que aparece", "The case's status and phase in each monthly report that lists it";
    case_no_entries: "Aún no aparece en ningún reporte cargado.", "Not listed in any loaded report yet.";
    case_violence: "hechos de violencia", "violent events";
    case_dialogue: "proceso de diálogo", "dialogue under way";
    case_incidents: "Incidentes vinculados", "Linked incidents";
    case_no_incidents: "Ningún incidente vinculado.", "No linked incident.";
    case_reports: "Reportes {first} a {last}", "Reports {first} to {last}";
    cases_none: "Ningún caso coincide con estos filtros.", "No case matches these filters.";
    case_status_activo: "activo", "active";
    case_status_latente: "latente", "latent";
    case_status_resuelto: "resuelto", "resolved";
    case_status_retirado: "retirado", "withdrawn";
    case_status_observacion: "en observación", "under observation";
    phase_fase_temprana: "fase temprana", "early phase";
    phase_escalamiento: "escalamiento", "escalation";
    phase_crisis: "crisis", "crisis";
    phase_desescalamiento: "desescalamiento", "de-escalation";
    phase_dialogo: "diálogo", "dialogue";
    phase_conflicto_no_iniciado: "conflicto no iniciado", "conflict not started";
    case_type_socioambiental: "socioambiental", "socio-environmental";
    case_type_gobierno_local: "asuntos de gobierno local", "local government affairs";
    case_type_gobierno_regional: "asuntos de gobierno regional", "regional government affairs";
    case_type_gobierno_nacional: "asuntos de gobierno nacional", "national government affairs";
    case_type_demarcacion: "demarcación territorial", "territorial demarcation";
    case_type_comunal: "comunal", "communal";
    case_type_laboral: "laboral", "labour";
    case_type_otros: "otros", "other";
    attachments: "Fotos y documentos", "Photos and documents";
    no_attachments: "Sin fotos ni documentos.", "No photos or documents.";
    attach_label: "Añadir fotos, videos o PDF", "Add photos, videos or PDFs";
    attach_hint: "JPEG, PNG, WebP, MP4, MOV o PDF, hasta {mb} MB cada uno. Las fotos pierden su ubicación GPS y los datos de la cámara al guardarse.", "JPEG, PNG, WebP, MP4, MOV or PDF, up to {mb} MB each. Photos lose their GPS location and camera data when saved.";
    attach_button: "Adjuntar", "Attach";
    outbox_files: "Con {n} archivo(s) adjunto(s)", "With {n} attached file(s)";
    photos_hint: "Fotos (JPEG, PNG, WebP), videos (MP4, MOV) o PDF. Las fotos pierden su ubicación GPS y los datos de la cámara al guardarse; sin conexión, esperan en este dispositivo con el incidente.", "Photos (JPEG, PNG, WebP), videos (MP4, MOV) or PDFs. Photos lose their GPS location and camera data when saved; offline, they wait on this device with the incident.";
    attach_saved: "Archivo adjuntado.", "File attached.";
    attach_none_chosen: "Elija al menos un archivo.", "Choose at least one file.";
    attach_empty: "«{name}» está vacío.", "“{name}” is empty.";
    attach_too_large: "«{name}» pesa más de {mb} MB.", "“{name}” is larger than {mb} MB.";
    attach_unsupported: "«{name}» no es una foto (JPEG, PNG, WebP), un video (MP4, MOV) ni un PDF.", "“{name}” is not a photo (JPEG, PNG, WebP), a video (MP4, MOV) or a PDF.";
    attach_heic: "«{name}» es una foto HEIC: envíela como JPEG (el navegador del teléfono lo hace al elegir la foto desde esta página).", "“{name}” is a HEIC photo: send it as JPEG (the phone's browser does so when the photo is chosen from this page).";
    attach_unreadable: "«{name}» está dañado o incompleto y no se puede leer.", "“{name}” is damaged or incomplete and cannot be read.";
    attach_bad_name: "El nombre de «{name}» tiene caracteres no permitidos o es demasiado largo.", "The name of “{name}” has characters that are not allowed or is too long.";
    attach_delete: "Quitar", "Remove";
    attach_deleted: "Archivo quitado. Administración puede restaurarlo.", "File removed. Admins can restore it.";
    attach_open: "Abrir {name}", "Open {name}";
    attach_photo_alt: "Foto adjunta: {name}", "Attached photo: {name}";
    published_on: "publicado el {date}", "published {date}";
    coordinates: "Coordenadas", "Coordinates";
    outside_boundaries: "El punto no cae en ningún distrito cargado: revise los signos (el Perú está en latitudes y longitudes negativas).", "The point falls in no loaded district: check the signs (Peru lies at negative latitudes and longitudes).";

    // ---- incident form ----
    new_incident_title: "Nuevo incidente", "New incident";
    edit_incident_title: "Editar: {title}", "Edit: {title}";
    form_has_errors: "Revise los campos marcados.", "Please check the marked fields.";
    required_mark: "(obligatorio)", "(required)";
    lat: "Latitud", "Latitude";
    lon: "Longitud", "Longitude";
    use_my_location: "Usar mi ubicación", "Use my location";
    point_hint: "Haga clic en el mapa para marcar el lugar, o escriba la latitud y la longitud.", "Click the map to mark the place, or type the latitude and longitude.";
    district_of_point: "Distrito del punto", "District of the point";
    no_district: "El punto no cae en ningún distrito cargado.", "The point falls in no loaded district.";
    district_offline: "Sin conexión: el distrito se asignará al enviar.", "No connection: the district will be set when it is sent.";
    district_search: "O busque un distrito", "Or find a district";
    district_search_hint: "Escriba su nombre (funciona sin conexión): el punto se pone dentro del distrito y la precisión pasa a «aproximada».", "Type its name (works offline): the point is put inside the district and the precision becomes “approximate”.";
    district_none: "Ningún distrito con ese nombre.", "No district by that name.";
    locating: "Buscando su ubicación…", "Finding your location…";
    geolocation_failed: "No se pudo obtener su ubicación.", "Your location could not be found.";
    place_hint: "Por ejemplo: campamento del proyecto Los Chancas", "For example: Los Chancas project camp";
    point_map_label: "Mapa para marcar el lugar", "Map to mark the place";
    actor_search: "Buscar un actor (nombre o sigla)", "Find an actor (name or acronym)";
    actor_search_hint: "Escriba al menos dos letras; por ejemplo SPCC.", "Type at least two letters; for example SPCC.";
    actor_none_found: "Ningún actor con ese nombre.", "No actor by that name.";
    actor_role: "Papel", "Role";
    attribution: "Atribución", "Attribution";
    remove: "Quitar", "Remove";
    new_actor: "¿No existe? Crear un actor nuevo", "Not there? Create a new actor";
    new_actor_name: "Nombre del actor nuevo", "New actor's name";
    new_actor_kind: "Tipo de actor", "Kind of actor";
    source_publisher: "Medio o autor", "Publisher or author";
    source_title: "Título de la nota", "Headline";
    source_url: "Enlace", "Link";
    source_date: "Fecha de publicación", "Publication date";
    add_source: "Añadir una fuente", "Add a source";
    saved: "Guardado.", "Saved.";
    conflict_title: "Otra persona cambió este incidente mientras usted lo editaba", "Someone else changed this incident while you were editing it";
    conflict_intro: "Nada se guardó todavía. Compare las dos versiones y elija.", "Nothing was saved yet. Compare both versions and choose.";
    conflict_theirs: "Lo que está guardado ahora", "What is saved now";
    conflict_yours: "Sus cambios", "Your changes";
    keep_theirs: "Descartar mis cambios", "Discard my changes";
    keep_mine: "Guardar mis cambios en su lugar", "Save my changes instead";
    conflict_field: "Campo", "Field";

    // ---- concession and actor pages ----
    concession_title: "Concesión {code}", "Concession {code}";
    concession_name: "Nombre", "Name";
    concession_status: "Estado en el registro", "Registry status";
    concession_filed: "Fecha de petitorio", "Filed on";
    incidents_inside: "Incidentes dentro de la concesión", "Incidents inside the concession";
    registry_changes: "Cambios en el registro", "Registry changes";
    outline_map_label: "Mapa del contorno", "Map of the outline";
    actor_kind: "Tipo de actor", "Kind of actor";
    aliases: "Otros nombres", "Other names";
    ruc: "RUC", "RUC";
    incidents_of_actor: "Incidentes", "Incidents";
    concessions_held: "Concesiones de las que es titular", "Concessions held";
    no_concessions_held: "Ninguna concesión registrada a su nombre.", "No registered concession in its name.";
    see_all: "Ver todos", "See all";
    no_incidents_yet: "Ningún incidente registrado.", "No incident recorded.";

    // ---- enum values ----
    type_protest: "protesta", "protest";
    type_blockade: "bloqueo", "blockade";
    type_riot: "disturbio", "riot";
    type_property_destruction: "destrucción de propiedad", "property destruction";
    type_clash: "enfrentamiento", "clash";
    type_attack: "ataque", "attack";
    type_occupation: "ocupación", "occupation";
    type_eviction: "desalojo", "eviction";
    type_arrest: "detención", "arrest";
    type_agreement: "acuerdo", "agreement";
    type_environmental_incident: "incidente ambiental", "environmental incident";
    type_other: "otro", "other";
    verification_unverified: "sin verificar", "unverified";
    verification_verified: "verificado", "verified";
    verification_disputed: "en disputa", "disputed";
    precision_day: "día", "day";
    precision_month: "mes", "month";
    precision_year: "año", "year";
    location_exact: "exacto", "exact";
    location_near: "cercano", "near";
    location_approximate: "aproximado", "approximate";
    link_perpetrator: "autor", "perpetrator";
    link_target: "blanco", "target";
    link_affected: "afectado", "affected";
    link_participant: "participante", "participant";
    link_mediator: "mediador", "mediator";
    attribution_alleged: "presunto", "alleged";
    attribution_confirmed: "confirmado", "confirmed";
    attribution_disputed: "en disputa", "disputed";
    attribution_denied: "negado", "denied";
    kind_company: "empresa", "company";
    kind_informal_group: "grupo informal", "informal group";
    kind_community: "comunidad", "community";
    kind_state_agency: "entidad del Estado", "state agency";
    kind_civil_society: "sociedad civil", "civil society";
    kind_other: "otro", "other";

    change_added: "alta en el registro", "added to the registry";
    change_removed: "baja del registro", "removed from the registry";
    change_holder_changed: "cambio de titular", "holder changed";
    change_renamed: "cambio de nombre", "renamed";
    change_geometry_changed: "cambio de contorno", "outline changed";
    change_details_changed: "otros datos cambiados", "other details changed";
    hectares: "Hectáreas", "Hectares";
    substance: "Sustancia", "Substance";

    // ---- field errors ----
    err_required: "Es obligatorio.", "Required.";
    err_blank: "No puede quedar en blanco.", "Must not be blank.";
    err_length_between: "Debe tener entre {min} y {max} caracteres.", "Must have {min} to {max} characters.";
    err_length_max: "Puede tener como máximo {max} caracteres (o elementos).", "May have at most {max} characters (or items).";
    err_length_min: "Debe tener al menos {min} caracteres.", "Must have at least {min} characters.";
    err_range: "Debe estar entre {min} y {max}.", "Must be between {min} and {max}.";
    err_control_character: "Contiene caracteres de control o de dirección; escríbalo en una sola línea de texto normal.", "Contains control or direction characters; write it as one line of plain text.";
    err_date: "Debe ser una fecha (AAAA-MM-DD).", "Must be a date (YYYY-MM-DD).";
    err_future: "No puede estar en el futuro.", "Must not be in the future.";
    err_too_old: "Debe ser de 1900 en adelante.", "Must be 1900 or later.";
    err_url: "Debe ser un enlace http:// o https://.", "Must be an http:// or https:// link.";
    err_ubigeo: "Debe tener 2, 4 o 6 dígitos.", "Must have 2, 4 or 6 digits.";
    err_email: "Debe ser un correo como nombre@ejemplo.org.", "Must be an e-mail like name@example.org.";
    err_display_name: "Debe tener de 1 a 100 caracteres en una línea.", "Must be 1 to 100 characters on one line.";
    err_common_password: "Es demasiado fácil de adivinar (una contraseña común, un patrón o su propio nombre).", "Is too easy to guess (a common password, a pattern or your own name).";
    err_password_mismatch: "Las dos contraseñas no coinciden.", "The two passwords do not match.";
    err_number: "Debe ser un número.", "Must be a number.";
    err_invalid: "No es válido.", "Is not valid.";
    err_taken: "Ya está en uso.", "Is already taken.";

    // ---- error pages ----
    error_title: "Algo salió mal", "Something went wrong";
    error_not_found: "No encontramos lo que busca.", "We could not find what you are looking for.";
    error_forbidden: "Su rol no permite hacer esto.", "Your role does not allow this.";
    error_cross_site: "La solicitud no vino de una página de Vigía, así que no se hizo nada. Vuelva a la página y envíe el formulario otra vez.", "The request did not come from a Vigía page, so nothing was done. Go back to the page and send the form again.";
    error_bad_request: "La solicitud no es válida.", "The request is not valid.";
    error_unavailable: "El servicio no está disponible en este momento. Inténtelo otra vez en unos minutos.", "The service is unavailable right now. Try again in a few minutes.";
    error_internal: "Ocurrió un error inesperado. Quedó registrado; inténtelo otra vez.", "An unexpected error happened. It was logged; please try again.";
    error_detail: "Detalle", "Detail";
    back_home: "Volver al inicio", "Back to the start";

    // ---- the pages mail links open ----
    confirm_title: "Confirmar alerta", "Confirm alert";
    confirm_question: "Pulse el botón para activar la alerta que pidió para esta dirección.", "Press the button to turn on the alert asked for this address.";
    confirm_button: "Confirmar", "Confirm";
    confirm_already: "Esta alerta ya está activa.", "This alert is already on.";
    confirmed_title: "Alerta confirmada", "Alert confirmed";
    confirmed_now: "Su alerta está activa: recibirá un correo por cada incidente nuevo que caiga en lo que vigila.", "Your alert is on: you will get a mail for every new incident inside what you watch.";
    confirmed_before: "Esta alerta ya estaba activa.", "This alert was already on.";
    unsubscribe_title: "Darse de baja", "Unsubscribe";
    unsubscribe_question: "¿Dejar de recibir estas alertas?", "Stop receiving these alerts?";
    unsubscribe_button: "Darme de baja", "Unsubscribe";
    unsubscribed_title: "Baja confirmada", "Unsubscribed";
    unsubscribed: "Listo: no recibirá más alertas de esta vigilancia.", "Done: you will get no more alerts from this watch.";

    // ---- mails ----
    mail_what: "Tipo", "Type";
    mail_when: "Fecha", "Date";
    mail_place: "Lugar", "Place";
    mail_why: "Por qué lo recibe", "Why you get this";
    mail_more: "Ver el incidente", "See the incident";
    mail_stop: "Para dejar de recibir estas alertas, abra", "To stop these alerts, open";
    mail_digest_subject: "[Vigía] {n} incidentes nuevos", "[Vigía] {n} new incidents";
    reason_concession: "Está dentro de la concesión {code} «{name}»{holder}, que usted vigila.", "It lies inside concession {code} \"{name}\"{holder}, which you watch.";
    reason_concession_holder: " (titular: {holder})", " (holder: {holder})";
    reason_holder: "Está dentro de la concesión {code} «{name}» de {holder}, titular que usted vigila.", "It lies inside concession {code} \"{name}\" of {holder}, a holder you watch.";
    reason_area: "Está dentro del área que usted vigila.", "It lies inside the area you watch.";
    reason_admin_area: "Ocurrió en {name} (ubigeo {ubigeo}), que usted vigila.", "It happened in {name} (ubigeo {ubigeo}), which you watch.";
    the_area: "la zona", "the area";
    confirm_subject: "[Vigía] Confirme su alerta", "[Vigía] Confirm your alert";
    confirm_intro: "Alguien (esperamos que usted) pidió alertas de Vigía a esta dirección para:", "Someone (we hope you) asked for Vigía alerts at this address for:";
    confirm_action: "Para activarlas, abra este enlace y pulse «Confirmar»:", "To turn them on, open this link and press Confirm:";
    confirm_ignore: "Si no fue usted, ignore este mensaje: no recibirá nada más.", "If it was not you, ignore this message: you will get nothing more.";
    target_concession: "la concesión {code} «{name}»", "concession {code} \"{name}\"";
    target_holder: "las concesiones del titular {name}", "the concessions of holder {name}";
    target_admin_area: "el ubigeo {ubigeo}", "ubigeo {ubigeo}";
    target_area: "el área que dibujó", "the area you drew";
    mail_footer: "Vigía — conflictos sociales en torno a la minería en el Perú", "Vigía — social conflicts around mining in Peru";
    mail_invitation_subject: "Invitación a Vigía", "Invitation to Vigía";
    mail_invitation_body: "Hola, {name}:\n\n{inviter} le invitó a Vigía con el rol de {role}. Para elegir su contraseña y entrar, abra este enlace (vale 72 horas):\n\n{link}\n\nSi no esperaba esta invitación, ignore este correo.", "Hello {name},\n\n{inviter} invited you to Vigía with the {role} role. To choose your password and sign in, open this link (it works for 72 hours):\n\n{link}\n\nIf you did not expect this invitation, ignore this mail.";
    mail_invitation_button: "Elegir mi contraseña", "Choose my password";
    mail_reset_subject: "Su contraseña de Vigía", "Your Vigía password";
    mail_reset_body: "Hola, {name}:\n\nAlguien pidió una contraseña nueva para su cuenta de Vigía. Para elegirla, abra este enlace (vale una hora):\n\n{link}\n\nSi no lo pidió usted, ignore este correo: su contraseña no cambió.", "Hello {name},\n\nSomeone asked for a new password for your Vigía account. To choose it, open this link (it works for one hour):\n\n{link}\n\nIf it was not you, ignore this mail: your password has not changed.";
    mail_reset_button: "Elegir una contraseña nueva", "Choose a new password";

    // ---- researchers: "Mis alertas" (watches) ----
    nav_watches: "Mis alertas", "My alerts";

    // ---- admins: the administration pages ----
    nav_admin: "Administración", "Administration";
    admin_intro: "Las páginas para quienes administran Vigía: personas, llaves, registros de cambios, correos y ajustes.", "The pages for those who run Vigía: people, keys, change logs, mail and settings.";
    admin_users_what: "Invitar personas, cambiar su rol, desactivarlas; ver cuándo entraron por última vez.", "Invite people, change their role, disable them; see when they last signed in.";
    admin_keys_what: "Llaves de la API para scripts y programas: crearlas, ver su último uso, revocarlas.", "API keys for scripts and programs: make them, see their last use, revoke them.";
    admin_audit_title: "Registro de auditoría", "Audit log";
    admin_audit_what: "Quién cambió qué y cuándo, con los valores de antes y después.", "Who changed what and when, with the values before and after.";
    admin_deliveries_title: "Correos enviados", "Delivery log";
    admin_deliveries_what: "Cada correo de alerta o de confirmación: su estado, intentos y último error; reintentar los que fallaron.", "Every alert or confirmation mail: its status, attempts and last error; retry those that failed.";
    admin_registry_title: "Cambios del catastro", "Registry changes";
    admin_registry_what: "Concesiones añadidas, retiradas o cambiadas (titular, nombre, contorno) por cada importación.", "Concessions added, removed or changed (holder, name, outline) by each import.";
    admin_settings_title: "Ajustes", "Settings";
    admin_settings_what: "Cada ajuste con su valor actual y de dónde viene; solo lectura.", "Every setting with its current value and where it comes from; read-only.";
    admin_settings_intro: "Los ajustes con que funciona este servidor. Se cambian en el archivo de configuración o con variables de entorno, y valen al reiniciar. Las contraseñas no se muestran.", "The settings this server runs with. They are changed in the configuration file or with environment variables, and apply after a restart. Passwords are not shown.";
    admin_source_default: "Valor por defecto", "Default value";
    admin_source_file: "Archivo {file}", "File {file}";
    admin_source_env: "Variable de entorno {var}", "Environment variable {var}";
    admin_source_program: "Fijado por el programa que inició Vigía", "Set by the program that started Vigía";
    admin_secret_hidden: "oculto", "hidden";
    admin_secret_empty: "(vacío)", "(empty)";
    admin_empty_value: "(vacío)", "(empty)";
    admin_bad_text: "Demasiado largo o con caracteres de control.", "Too long or with control characters.";
    admin_bad_choice: "Elija un valor de la lista.", "Choose a value from the list.";
    admin_bad_id: "No es un identificador válido.", "Not a valid identifier.";
    admin_nothing: "Nada que mostrar con estos filtros.", "Nothing to show with these filters.";
    admin_who: "Quién", "Who";
    admin_entity: "Tipo de registro", "Kind of record";
    admin_action: "Acción", "Action";
    admin_record_id: "Identificador del registro", "Record id";
    admin_from: "Desde", "From";
    admin_to: "Hasta", "To";
    admin_diff_caption: "Campos que cambiaron", "Fields that changed";
    admin_field: "Campo", "Field";
    admin_before: "Antes", "Before";
    admin_after: "Después", "After";
    admin_entity_event: "Incidente", "Incident";
    admin_entity_actor: "Actor", "Actor";
    admin_entity_event_actor: "Actores de un incidente", "Actors of an incident";
    admin_entity_concession: "Concesión", "Concession";
    admin_entity_concessions: "Importación de concesiones", "Concession import";
    admin_entity_districts: "Límites distritales", "District boundaries";
    admin_entity_case: "Caso", "Case";
    admin_entity_report_entry: "Entrada de reporte", "Report entry";
    admin_entity_report_entries: "Importación de reportes", "Report import";
    admin_entity_event_case: "Casos de un incidente", "Cases of an incident";
    admin_entity_event_concession: "Concesiones de un incidente", "Concessions of an incident";
    admin_entity_watch: "Alerta suscrita", "Watch";
    admin_entity_api_key: "Llave de API", "API key";
    admin_entity_user: "Persona", "Person";
    admin_entity_attachment: "Archivo adjunto", "Attachment";
    admin_entity_alert: "Correo de alerta", "Alert mail";
    admin_change_kind: "Cambio", "Change";
    admin_code: "Código", "Code";
    admin_holder: "Titular", "Holder";
    admin_watch: "Alerta suscrita (id)", "Watch (id)";
    admin_recipient: "Destinatario", "Recipient";
    admin_queued: "En cola desde", "Queued";
    admin_attempts: "Intentos", "Attempts";
    admin_last_error: "Último error", "Last error";
    admin_mail_pending: "Por enviar", "Pending";
    admin_mail_sent: "Enviado", "Sent";
    admin_mail_failed: "Falló", "Failed";
    admin_mail_cancelled: "Cancelado", "Cancelled";
    admin_mail_alert: "alerta", "alert";
    admin_mail_confirmation: "confirmación", "confirmation";
    admin_mail_sent_at: "enviado el {when}", "sent {when}";
    admin_mail_next_at: "próximo intento: {when}", "next attempt: {when}";
    admin_retry_now: "Reintentar ahora", "Retry now";
    admin_retry_due: "El correo se enviará en el próximo turno del envío (en segundos).", "The mail will be sent on the sender's next pass (within seconds).";
    admin_retry_already: "Ese correo ya estaba por enviarse; no se cambió nada.", "That mail was already due; nothing changed.";
    admin_retry_busy: "Ese correo se está enviando en este momento; no se cambió nada.", "That mail is being sent right now; nothing changed.";
    admin_retry_final: "Ese correo ya fue enviado o cancelado; no hay nada que reintentar.", "That mail was already sent or cancelled; there is nothing to retry.";
    admin_imports_title: "Importar concesiones y distritos", "Import concessions and districts";
    admin_imports_what: "Cargar el catastro minero (GeoJSON o shapefile en .zip) o los límites distritales, y ver el informe.", "Load the mining cadastre (GeoJSON or a zipped shapefile) or the district boundaries, and read the report.";
    admin_imports_intro: "La importación corre en segundo plano y en una sola transacción: si se interrumpe, no queda nada a medias. Las concesiones se actualizan por código; los distritos reemplazan la capa entera.", "The import runs in the background in one transaction: if it is interrupted, nothing is left half done. Concessions are updated by code; districts replace the whole layer.";
    admin_import_concessions: "Concesiones mineras", "Mining concessions";
    admin_import_districts: "Límites distritales", "District boundaries";
    admin_import_concessions_help: "Un GeoJSON, o un shapefile comprimido en .zip (con .shp, .shx, .dbf y, si lo hay, .prj), con los campos de INGEMMET (CODIGOU, CONCESION, TIT_CONCES…).", "A GeoJSON, or a shapefile in a .zip (with .shp, .shx, .dbf and, if there is one, .prj), with INGEMMET's fields (CODIGOU, CONCESION, TIT_CONCES…).";
    admin_import_districts_help: "Un GeoJSON o shapefile en .zip con los campos del INEI (IDDIST, NOMBDIST, NOMBPROV, NOMBDEP).", "A GeoJSON or zipped shapefile with INEI's fields (IDDIST, NOMBDIST, NOMBPROV, NOMBDEP).";
    admin_import_file: "Archivo", "File";
    admin_import_max: "Hasta {mb} MB.", "Up to {mb} MB.";
    admin_import_crs: "Sistema de coordenadas", "Coordinate system";
    admin_import_crs_file: "El del archivo (.prj o GeoJSON)", "The file's own (.prj or GeoJSON)";
    admin_import_start: "Importar", "Import";
    admin_import_recent: "Importaciones recientes", "Recent imports";
    admin_import_none: "Todavía no hay importaciones desde esta página.", "No imports from this page yet.";
    admin_import_running: "En curso", "Running";
    admin_import_done: "Terminada", "Done";
    admin_import_failed: "Falló", "Failed";
    admin_import_state: "Estado", "State";
    admin_import_started_by: "Iniciada por", "Started by";
    admin_import_finished: "Terminó", "Finished";
    admin_import_wait: "La importación sigue en curso; esta página se actualiza sola cada pocos segundos.", "The import is still running; this page refreshes itself every few seconds.";
    admin_import_progress: "{done} de {total} registros escritos.", "{done} of {total} records written.";
    admin_import_read: "Leídos", "Read";
    admin_import_added: "Añadidos", "Added";
    admin_import_updated: "Cambiados", "Changed";
    admin_import_unchanged: "Sin cambios", "Unchanged";
    admin_import_removed: "Retirados", "Removed";
    admin_import_incidents: "Incidentes ubicados de nuevo", "Incidents placed again";
    admin_import_seconds: "Duración (s)", "Duration (s)";
    admin_import_skipped: "Filas con errores (no importadas)", "Rows with errors (not imported)";
    admin_import_row: "Fila", "Row";
    admin_import_reason: "Motivo", "Reason";
    admin_import_no_errors: "Ninguna fila con errores.", "No row with errors.";
    admin_import_error: "No se importó nada:", "Nothing was imported:";
    admin_import_back: "Volver a las importaciones", "Back to imports";
    admin_import_choose: "Elija un archivo.", "Choose a file.";
    admin_import_not_geojson: "No es un GeoJSON ni un .zip con un shapefile.", "Not a GeoJSON nor a .zip with a shapefile.";
    admin_import_bad_zip: "El .zip no se puede leer.", "The .zip cannot be read.";
    admin_import_zip_two: "El .zip tiene más de un shapefile; envíe uno por vez.", "The .zip holds more than one shapefile; send one at a time.";
    admin_import_zip_missing: "El .zip debe tener el .shp, el .shx y el .dbf del shapefile.", "The .zip must hold the shapefile's .shp, .shx and .dbf.";
    admin_import_unreadable: "El archivo no se pudo guardar para leerlo.", "The file could not be stored to be read.";
    admin_import_too_large: "El archivo supera {mb} MB.", "The file is over {mb} MB.";
    user_last_sign_in: "Último ingreso", "Last sign-in";
    user_never_signed_in: "nunca", "never";

    // ---- analysts: imports, suggestions, reconciliation, review ----
    nav_review: "Por verificar", "To verify";

    // ---- offline: the outbox and "Mis envíos" ----
    nav_submissions: "Mis envíos", "My submissions";
    submissions_title: "Mis envíos", "My submissions";
    submissions_intro: "Lo que se guardó en este dispositivo. Un incidente guardado sin señal espera aquí y se envía solo cuando vuelve la conexión, una sola vez.", "What was saved on this device. An incident saved without signal waits here and is sent by itself, once, when the connection comes back.";
    outbox_waiting_count: "{n} por enviar", "{n} waiting";
    outbox_send_now: "Enviar ahora", "Send now";
    outbox_waiting: "Por enviar", "Waiting";
    outbox_sent: "Enviados", "Sent";
    outbox_refused: "Rechazados", "Refused";
    outbox_none: "Nada en este grupo.", "Nothing in this group.";
    outbox_saved_at: "Guardado: {time}", "Saved: {time}";
    outbox_sent_at: "Enviado: {time}", "Sent: {time}";
    outbox_untitled: "(sin título)", "(untitled)";
    outbox_open_incident: "Ver el incidente", "See the incident";
    outbox_fix: "Corregir y reenviar", "Fix and send again";
    outbox_delete: "Borrar", "Delete";
    outbox_try_failed: "El último intento no llegó (sin señal o error del servidor); se volverá a intentar.", "The last attempt did not get through (no signal or a server error); it will be tried again.";
    outbox_sign_in_again: "Su sesión terminó: inicie sesión otra vez para enviar lo que espera.", "Your session has ended: sign in again to send what is waiting.";
    outbox_saved_offline: "Sin conexión: el incidente quedó guardado en este dispositivo y se enviará cuando vuelva la señal.", "No connection: the incident is saved on this device and will be sent when the signal comes back.";
    outbox_offline_now: "Ahora no hay conexión.", "There is no connection now.";
    outbox_sending: "Enviando…", "Sending…";
    outbox_fix_loaded: "Este envío fue rechazado: corrija lo indicado y guárdelo otra vez.", "This submission was refused: fix what is shown and save it again.";
    outbox_check_fields: "Revise los campos marcados.", "Check the fields marked.";
    outbox_not_a_number: "debe ser un número", "must be a number";
    outbox_actor_step_failed: "El incidente se envió, pero falta vincular a un actor; se volverá a intentar.", "The incident was sent, but an actor still has to be linked; it will be tried again.";
}
