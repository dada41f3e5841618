"""Static bearer tokens: kube-apiserver's ``--token-auth-file``.

Format (CSV, one user per record, as Kubernetes reads it): ``token,user,uid[,"group1,group2"]`` -- at least three
columns, surrounding spaces of a field ignored, blank lines skipped, further columns ignored. A record with an empty
token is skipped; a duplicate token replaces the earlier one (Kubernetes warns and does the same). Errors name the
line so a broken file is easy to fix; the apiserver refuses to start on them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from apiserver.auth.user import UserInfo


@dataclass
class TokenFile:
    tokens: dict[str, UserInfo] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str) -> TokenFile:
        with open(path, encoding="utf-8", newline="") as f:
            return cls.parse(f.read(), path)

    @classmethod
    def parse(cls, text: str, source: str = "<tokens>") -> TokenFile:
        tokens: dict[str, UserInfo] = {}
        reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise ValueError(f"token file '{source}' line {reader.line_num}: {e}") from None
            if not record or record == [""]:
                continue
            if len(record) < 3:
                raise ValueError(f"token file '{source}' line {reader.line_num}: must have at least 3 columns "
                                 f"(token, user name, user uid), found {len(record)}")
            token = record[0].strip()
            if not token:
                continue
            groups: tuple[str, ...] = ()
            if len(record) >= 4:
                groups = tuple(g for g in record[3].split(",") if g)
            tokens[token] = UserInfo(name=record[1], uid=record[2], groups=groups)
        return cls(tokens)

    def authenticate(self, token: str) -> UserInfo | None:
        return self.tokens.get(token)
