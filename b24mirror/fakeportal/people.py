"""The portal's people: users, webhooks, OAuth apps and tokens, workgroups and their members."""
from __future__ import annotations

import uuid as uuid_mod
from typing import Iterable

from b24mirror.fakeportal.model import Group, Token, User, Webhook


ACCESS_TOKEN_LIFETIME = 3600


class PeopleMixin:
    # ---- people and groups ---------------------------------------------------------------------------
    def add_user(self, name: str, last_name: str, extranet: bool = False, active: bool = True,
                 admin: bool = False, email: str | None = None, work_position: str = "",
                 second_name: str = "", gender: str = "") -> int:
        with self.lock:
            uid = self._next("user")
            login = email or (f"{name}.{last_name}".lower() + f"@{self.domain}" if (name + last_name).isascii()
                              else f"user{uid}@{self.domain}")
            self.users[uid] = User(uid, name, last_name, second_name, login, login, extranet, active, admin,
                                   work_position, gender, self.now_ts() - 86400 * 30,
                                   [] if extranet else [1])
            return uid

    def set_user_active(self, uid: int, active: bool) -> None:
        with self.lock:
            self.users[uid].active = active

    def add_webhook(self, uid: int, scopes: Iterable[str] = ("task", "sonet_group", "user", "im"),
                    secret: str | None = None) -> str:
        with self.lock:
            if uid not in self.users:
                raise KeyError(f"no user {uid}")
            secret = secret or self._token(16)
            self.webhooks[secret] = Webhook(uid, secret, frozenset(scopes))
            return secret

    def add_app(self, client_id: str | None = None, client_secret: str | None = None) -> tuple[str, str]:
        """An OAuth application: (client_id, client_secret)."""
        with self.lock:
            client_id = client_id or f"local.{self._token(14)}"
            client_secret = client_secret or self._token(40)
            self.apps[client_id] = client_secret
            return client_id, client_secret

    def issue_token(self, uid: int, client_id: str, scopes: Iterable[str] = ("task", "sonet_group", "user", "im"),
                    expires_in: int = ACCESS_TOKEN_LIFETIME) -> dict:
        """Install the app for a user: returns the reply the OAuth server gives (access + refresh token)."""
        with self.lock:
            return self._grant(uid, client_id, frozenset(scopes), expires_in)

    def _grant(self, uid: int, client_id: str, scopes: frozenset, expires_in: int = ACCESS_TOKEN_LIFETIME) -> dict:
        access, refresh = self._token(32), self._token(32)
        expires = self.now_ts() + expires_in
        self.tokens[access] = Token(access, uid, scopes, client_id, expires)
        self.refresh_tokens[refresh] = Token(refresh, uid, scopes, client_id, self.now_ts() + 180 * 86400)
        return {"access_token": access, "client_endpoint": f"https://{self.domain}/rest/",
                "domain": "oauth.bitrix.info", "expires": int(expires), "expires_in": expires_in,
                "member_id": self._member_id(), "refresh_token": refresh, "scope": ",".join(sorted(scopes)),
                "server_endpoint": "https://oauth.bitrix.info/rest/", "status": "L", "user_id": uid}

    def _member_id(self) -> str:
        return uuid_mod.uuid5(uuid_mod.NAMESPACE_DNS, self.domain).hex

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> dict:
        """The /oauth/token/ refresh grant: the old refresh token is spent, a new pair comes back."""
        from b24mirror.fakeportal.errors import RestError
        with self.lock:
            if self.apps.get(client_id) != client_secret or not client_id:
                raise RestError("invalid_client", "Invalid client credentials", 401)
            old = self.refresh_tokens.get(refresh_token)
            if old is None or old.client_id != client_id or old.expires <= self.now_ts():
                raise RestError("invalid_grant", "Invalid refresh token", 400)
            del self.refresh_tokens[refresh_token]
            return self._grant(old.user_id, client_id, old.scopes)

    def expire_tokens(self) -> None:
        """Make every access token expire now (refresh tokens stay valid)."""
        with self.lock:
            for token in self.tokens.values():
                token.expires = min(token.expires, self.now_ts())

    def add_group(self, name: str, owner_id: int, members: Iterable[int] = (), description: str | None = None,
                  project: bool = True) -> int:
        with self.lock:
            gid = self._next("group")
            group = Group(gid, name, owner_id, self.now_ts(), {}, description, project)
            self.groups[gid] = group
            self._relate(group, owner_id, "A")
            for uid in members:
                if uid not in group.members:
                    self._relate(group, uid, "K")
            return gid

    def _relate(self, group: Group, uid: int, role: str) -> None:
        """A user's relation to a group keeps its id while only the role changes (a request Z accepted as K)."""
        group.members[uid] = role
        if uid not in group.relation_ids:
            group.relation_ids[uid] = self._next("group_relation")

    def add_member(self, gid: int, uid: int, role: str = "K") -> None:
        """role: A owner, E moderator, K member, Z a request to join (not a member yet)."""
        with self.lock:
            self._relate(self.groups[gid], uid, role)

    def remove_member(self, gid: int, uid: int) -> None:
        with self.lock:
            self.groups[gid].members.pop(uid, None)
            self.groups[gid].relation_ids.pop(uid, None)

