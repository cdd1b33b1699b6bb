"""Flask extensions, created unbound and bound in `create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from incidents.web.ratelimits import limiter_key

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# No IP addresses: keys are pseudonyms or accounts, see `incidents.web.ratelimits`.
limiter = Limiter(key_func=limiter_key, headers_enabled=True)
