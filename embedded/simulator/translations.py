"""The simulator speaking the client's language, as Okta does: an IDX answer's messages (global and
field errors) and the labels of the fields Okta itself names come back in the language of the
request's Accept-Language, French, German, Japanese, Korean or Chinese here (Simplified or
Traditional, chosen as the app chooses: a Hant script or a Taiwan, Hong Kong or Macau region is
Traditional); any other language gets English.

Applied to a finished document (`translate`), so the engine and the documents stay in English. The
wording is the simulator's own.
"""

from __future__ import annotations

import re
from typing import Any

from .ion import MSG, Json

LANGUAGES = ("fr", "de", "ja", "ko", "zh-CN", "zh-TW")
_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*)?")
_TRADITIONAL = {"hant", "tw", "hk", "mo"}  # subtags after zh that mean Traditional characters

# By the simulator's message names (ion.MSG): one i18n key may carry two texts (a wrong code and a
# wrong answer share api.authn.error.PASSCODE_INVALID), so the English text says which one it is.
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "session_expired": (
            "Vous avez été déconnecté pour cause d'inactivité. Actualisez la page ou revenez à l'écran de connexion."
        ),
        "passcode_invalid": "Code non valide. Réessayez.",
        "duo_failed": "La vérification de la signature Duo a échoué.",
        "duo_timeout": "Duo n'a pas répondu.",
        "vip_invalid": "Votre code ne correspond pas à nos enregistrements. Réessayez.",
        "password_incorrect": "Le mot de passe est incorrect",
        "auth_failed": "L'authentification a échoué",
        "unknown_user": "Il n'existe aucun compte avec le nom d'utilisateur {0}.",
        "locked": "Votre compte est verrouillé à la suite d'un trop grand nombre de tentatives d'authentification.",
        "not_assigned": "L'utilisateur n'est pas affecté à cette application.",
        "bad_request": "Requête incorrecte.",
        "server_error": "Erreur interne du serveur",
        "malformed": "Le corps de la requête est mal formé.",
        "too_many": "Trop de requêtes",
        "access_denied": "Vous n'avez pas l'autorisation d'effectuer l'action demandée.",
        "push_rejected": "Vous avez choisi de refuser cette connexion.",
        "requirements": "Les exigences du mot de passe ne sont pas respectées. {0}",
        "common_password": "Ce mot de passe figure dans une liste de mots de passe courants. Choisissez-en un autre.",
        "answer_short": "La réponse à la question de sécurité doit comporter au moins 4 caractères",
        "answer_wrong": "Votre réponse ne correspond pas à nos enregistrements. Réessayez.",
        "invalid_phone": "Numéro de téléphone non valide.",
        "required": "Ce champ ne peut pas rester vide",
        "invalid_value": "La valeur de ce champ n'est pas valide",
        "not_unique": "Un utilisateur avec cette valeur ({0}) existe déjà",
        "invalid_email": "« E-mail » doit être une adresse e-mail",
        "reset_not_allowed": (
            "La réinitialisation du mot de passe n'est pas autorisée pour le moment. Contactez l'assistance."
        ),
        "unlock_not_allowed": (
            "Le déverrouillage en libre-service n'est pas autorisé pour le moment. Contactez l'assistance."
        ),
        "unlock_success": "Vous pouvez vous connecter avec votre nom d'utilisateur et votre mot de passe actuels",
        "unlock_landing": "Compte déverrouillé ! Vérifiez votre compte avec une méthode de sécurité pour continuer.",
        "recovery_completed": (
            "Vous pouvez maintenant vous connecter avec votre nom d'utilisateur et votre nouveau mot de passe."
        ),
        "email_verification": "Pour terminer la connexion, consultez vos e-mails.",
        "suspended": "Ce facteur est suspendu pour votre compte à la suite d'un trop grand nombre d'échecs",
        "webauthn_attestation": (
            "La clé de sécurité ou l'authentificateur biométrique n'a pas pu être enregistré. Réessayez."
        ),
        "webauthn_assertion": "Aucun des authentificateurs WebAuthn de l'utilisateur n'a pu valider l'assertion",
        "sms_limit": "Vous avez atteint la limite de SMS. Réessayez plus tard.",
        "voice_limit": "Vous avez atteint la limite d'appels. Réessayez plus tard.",
        "password_expiring": (
            "Quand votre mot de passe expirera, vous devrez le changer avant de vous connecter à votre compte {0}."
        ),
        "idp_error": "La connexion avec le fournisseur d'identité a rencontré un problème.",
        "activation_expired": (
            "Votre lien d'activation n'est plus valide. Demandez un nouvel e-mail d'activation ci-dessous."
        ),
        "activation_expired_admin": (
            "Votre lien d'activation n'est plus valide. Demandez un nouveau lien à votre administrateur."
        ),
        "activation_requested": (
            "Nouveau lien d'activation demandé. Si vos informations correspondent à nos enregistrements, vous le "
            "recevrez bientôt."
        ),
        "captcha_invalid": "La vérification CAPTCHA a échoué. Réessayez.",
    },
    "de": {
        "session_expired": (
            "Sie wurden wegen Inaktivität abgemeldet. Laden Sie die Seite neu oder kehren Sie zur Anmeldung zurück."
        ),
        "passcode_invalid": "Ungültiger Code. Versuchen Sie es erneut.",
        "duo_failed": "Die Prüfung der Duo-Signatur ist fehlgeschlagen.",
        "duo_timeout": "Duo hat nicht geantwortet.",
        "vip_invalid": "Ihr Code stimmt nicht mit unseren Daten überein. Versuchen Sie es erneut.",
        "password_incorrect": "Das Passwort ist falsch",
        "auth_failed": "Authentifizierung fehlgeschlagen",
        "unknown_user": "Es gibt kein Konto mit dem Benutzernamen {0}.",
        "locked": "Ihr Konto ist nach zu vielen Anmeldeversuchen gesperrt.",
        "not_assigned": "Der Benutzer ist dieser Anwendung nicht zugewiesen.",
        "bad_request": "Ungültige Anfrage.",
        "server_error": "Interner Serverfehler",
        "malformed": "Der Inhalt der Anfrage ist fehlerhaft.",
        "too_many": "Zu viele Anfragen",
        "access_denied": "Sie sind nicht berechtigt, diese Aktion auszuführen.",
        "push_rejected": "Sie haben diese Anmeldung abgelehnt.",
        "requirements": "Die Passwortanforderungen sind nicht erfüllt. {0}",
        "common_password": (
            "Dieses Passwort steht auf einer Liste häufig verwendeter Passwörter. Wählen Sie ein anderes."
        ),
        "answer_short": "Die Antwort auf die Sicherheitsfrage muss mindestens 4 Zeichen lang sein",
        "answer_wrong": "Ihre Antwort stimmt nicht mit unseren Daten überein. Versuchen Sie es erneut.",
        "invalid_phone": "Ungültige Telefonnummer.",
        "required": "Dieses Feld darf nicht leer sein",
        "invalid_value": "Dieses Feld enthält einen ungültigen Wert",
        "not_unique": "Ein Benutzer mit diesem Wert ({0}) existiert bereits",
        "invalid_email": "„E-Mail“ muss eine E-Mail-Adresse sein",
        "reset_not_allowed": (
            "Das Zurücksetzen des Passworts ist derzeit nicht erlaubt. Wenden Sie sich an den Support."
        ),
        "unlock_not_allowed": (
            "Das Entsperren per Self-Service ist derzeit nicht erlaubt. Wenden Sie sich an den Support."
        ),
        "unlock_success": "Sie können sich mit Ihrem bisherigen Benutzernamen und Passwort anmelden",
        "unlock_landing": "Konto entsperrt! Bestätigen Sie Ihr Konto mit einer Sicherheitsmethode, um fortzufahren.",
        "recovery_completed": "Sie können sich jetzt mit Ihrem Benutzernamen und dem neuen Passwort anmelden.",
        "email_verification": "Prüfen Sie Ihre E-Mails, um die Anmeldung abzuschließen.",
        "suspended": "Dieser Faktor ist für Ihr Konto nach zu vielen Fehlversuchen gesperrt",
        "webauthn_attestation": (
            "Der Sicherheitsschlüssel oder biometrische Authenticator konnte nicht registriert werden. Versuchen Sie "
            "es erneut."
        ),
        "webauthn_assertion": "Keiner der WebAuthn-Authenticatoren des Benutzers konnte die Assertion bestätigen",
        "sms_limit": "Sie haben die Höchstzahl an SMS erreicht. Versuchen Sie es später erneut.",
        "voice_limit": "Sie haben die Höchstzahl an Anrufen erreicht. Versuchen Sie es später erneut.",
        "password_expiring": (
            "Wenn Ihr Passwort abläuft, müssen Sie es ändern, bevor Sie sich bei Ihrem Konto {0} anmelden können."
        ),
        "idp_error": "Bei der Anmeldung über den Identitätsanbieter ist ein Problem aufgetreten.",
        "activation_expired": (
            "Ihr Aktivierungslink ist nicht mehr gültig. Fordern Sie unten eine neue Aktivierungs-E-Mail an."
        ),
        "activation_expired_admin": (
            "Ihr Aktivierungslink ist nicht mehr gültig. Bitten Sie Ihren Administrator um einen neuen Link."
        ),
        "activation_requested": (
            "Neuer Aktivierungslink angefordert. Wenn Ihre Angaben mit unseren Daten übereinstimmen, erhalten Sie ihn "
            "in Kürze."
        ),
        "captcha_invalid": "Die CAPTCHA-Prüfung ist fehlgeschlagen. Versuchen Sie es erneut.",
    },
    "ja": {
        "session_expired": (
            "操作がなかったためサインアウトしました。ページを再読み込みするか、サインイン画面に戻ってください。"
        ),
        "passcode_invalid": "コードが無効です。もう一度お試しください。",
        "duo_failed": "Duo の署名を検証できませんでした。",
        "duo_timeout": "Duo から応答がありませんでした。",
        "vip_invalid": "コードが記録と一致しません。もう一度お試しください。",
        "password_incorrect": "パスワードが正しくありません",
        "auth_failed": "認証に失敗しました",
        "unknown_user": "ユーザー名 {0} のアカウントはありません。",
        "locked": "認証の試行回数が多すぎるため、アカウントがロックされています。",
        "not_assigned": "このユーザーはこのアプリケーションに割り当てられていません。",
        "bad_request": "不正なリクエストです。",
        "server_error": "サーバー内部エラー",
        "malformed": "リクエストの本文の形式が正しくありません。",
        "too_many": "リクエストが多すぎます",
        "access_denied": "この操作を行う権限がありません。",
        "push_rejected": "このサインインを拒否しました。",
        "requirements": "パスワードの要件を満たしていません。{0}",
        "common_password": (
            "このパスワードはよく使われるパスワードの一覧に含まれています。別のパスワードにしてください。"
        ),
        "answer_short": "秘密の質問の回答は 4 文字以上にしてください",
        "answer_wrong": "回答が記録と一致しません。もう一度お試しください。",
        "invalid_phone": "電話番号が無効です。",
        "required": "この項目は空欄にできません",
        "invalid_value": "この項目の値が無効です",
        "not_unique": "この値 ({0}) のユーザーはすでに存在します",
        "invalid_email": "「メール」にはメールアドレスを入力してください",
        "reset_not_allowed": "現在、パスワードの再設定は許可されていません。サポートにお問い合わせください。",
        "unlock_not_allowed": (
            "現在、セルフサービスでのロック解除は許可されていません。サポートにお問い合わせください。"
        ),
        "unlock_success": "これまでのユーザー名とパスワードでサインインできます",
        "unlock_landing": (
            "アカウントのロックを解除しました。続行するには、セキュリティ方式で本人確認を行ってください。"
        ),
        "recovery_completed": "ユーザー名と新しいパスワードでサインインできるようになりました。",
        "email_verification": "サインインを完了するには、メールを確認してください。",
        "suspended": "失敗が続いたため、このアカウントではこの要素が一時停止されています",
        "webauthn_attestation": "セキュリティキーまたは生体認証を登録できませんでした。もう一度お試しください。",
        "webauthn_assertion": "登録済みの WebAuthn 認証器のいずれでもアサーションを検証できませんでした",
        "sms_limit": "SMS の送信回数の上限に達しました。しばらくしてからもう一度お試しください。",
        "voice_limit": "通話の回数の上限に達しました。しばらくしてからもう一度お試しください。",
        "password_expiring": (
            "パスワードの有効期限が切れると、{0} アカウントにサインインする前にパスワードを変更する必要があります。"
        ),
        "idp_error": "ID プロバイダーでのサインイン中に問題が発生しました。",
        "activation_expired": (
            "アカウントの有効化リンクは無効になりました。下から新しい有効化メールをリクエストしてください。"
        ),
        "activation_expired_admin": (
            "アカウントの有効化リンクは無効になりました。新しいリンクを管理者に依頼してください。"
        ),
        "activation_requested": (
            "新しい有効化リンクをリクエストしました。情報が記録と一致すれば、まもなく受信トレイに届きます。"
        ),
        "captcha_invalid": "CAPTCHA の確認に失敗しました。もう一度お試しください。",
    },
    "ko": {
        "session_expired": "활동이 없어 로그아웃되었습니다. 페이지를 새로 고치거나 로그인 화면으로 돌아가십시오.",
        "passcode_invalid": "코드가 올바르지 않습니다. 다시 시도하십시오.",
        "duo_failed": "Duo 서명을 확인하지 못했습니다.",
        "duo_timeout": "Duo에서 응답이 없습니다.",
        "vip_invalid": "코드가 기록과 일치하지 않습니다. 다시 시도하십시오.",
        "password_incorrect": "비밀번호가 올바르지 않습니다",
        "auth_failed": "인증에 실패했습니다",
        "unknown_user": "사용자 이름이 {0}인 계정이 없습니다.",
        "locked": "인증 시도가 너무 많아 계정이 잠겼습니다.",
        "not_assigned": "이 사용자는 이 애플리케이션에 할당되지 않았습니다.",
        "bad_request": "잘못된 요청입니다.",
        "server_error": "내부 서버 오류",
        "malformed": "요청 본문의 형식이 올바르지 않습니다.",
        "too_many": "요청이 너무 많습니다",
        "access_denied": "요청한 작업을 수행할 권한이 없습니다.",
        "push_rejected": "이 로그인을 거부하셨습니다.",
        "requirements": "비밀번호 요구 사항을 충족하지 않습니다. {0}",
        "common_password": "이 비밀번호는 흔히 쓰이는 비밀번호 목록에 있습니다. 다른 비밀번호를 사용하십시오.",
        "answer_short": "보안 질문의 답변은 4자 이상이어야 합니다",
        "answer_wrong": "답변이 기록과 일치하지 않습니다. 다시 시도하십시오.",
        "invalid_phone": "전화번호가 올바르지 않습니다.",
        "required": "이 필드는 비워 둘 수 없습니다",
        "invalid_value": "이 필드의 값이 올바르지 않습니다",
        "not_unique": "이 값({0})을 사용하는 사용자가 이미 있습니다",
        "invalid_email": "'이메일'은 이메일 주소 형식이어야 합니다",
        "reset_not_allowed": "지금은 비밀번호 재설정이 허용되지 않습니다. 지원팀에 문의하십시오.",
        "unlock_not_allowed": "지금은 셀프 서비스 잠금 해제가 허용되지 않습니다. 지원팀에 문의하십시오.",
        "unlock_success": "기존 사용자 이름과 비밀번호로 로그인할 수 있습니다",
        "unlock_landing": "계정 잠금이 해제되었습니다. 계속하려면 보안 방법으로 계정을 확인하십시오.",
        "recovery_completed": "이제 기존 사용자 이름과 새 비밀번호로 로그인할 수 있습니다.",
        "email_verification": "로그인을 마치려면 이메일을 확인하십시오.",
        "suspended": "실패한 시도가 너무 많아 이 계정에서 이 인증 요소가 일시 중지되었습니다",
        "webauthn_attestation": "보안 키 또는 생체 인증기를 등록할 수 없습니다. 다시 시도하십시오.",
        "webauthn_assertion": "사용자가 등록한 WebAuthn 인증기 중 어느 것도 어설션을 검증하지 못했습니다",
        "sms_limit": "문자 메시지 요청 한도에 도달했습니다. 나중에 다시 시도하십시오.",
        "voice_limit": "전화 요청 한도에 도달했습니다. 나중에 다시 시도하십시오.",
        "password_expiring": "비밀번호가 만료되면 {0} 계정에 로그인하기 전에 비밀번호를 변경해야 합니다.",
        "idp_error": "ID 공급자로 로그인하는 중 문제가 발생했습니다.",
        "activation_expired": "계정 활성화 링크가 더 이상 유효하지 않습니다. 아래에서 새 활성화 이메일을 요청하십시오.",
        "activation_expired_admin": (
            "계정 활성화 링크가 더 이상 유효하지 않습니다. 관리자에게 새 활성화 링크를 요청하십시오."
        ),
        "activation_requested": (
            "새 활성화 링크를 요청했습니다. 정보가 기록과 일치하면 곧 받은편지함으로 새 링크가 도착합니다."
        ),
        "captcha_invalid": "CAPTCHA 확인에 실패했습니다. 다시 시도하십시오.",
    },
    "zh-CN": {
        "session_expired": "由于长时间未操作，您已退出登录。请刷新页面或返回登录界面。",
        "passcode_invalid": "验证码无效。请重试。",
        "duo_failed": "Duo 签名验证失败。",
        "duo_timeout": "未收到 Duo 的响应。",
        "vip_invalid": "您的验证码与记录不符。请重试。",
        "password_incorrect": "密码不正确",
        "auth_failed": "身份验证失败",
        "unknown_user": "不存在用户名为 {0} 的账户。",
        "locked": "由于身份验证尝试次数过多，您的账户已被锁定。",
        "not_assigned": "该用户未被分配到此应用。",
        "bad_request": "请求错误。",
        "server_error": "服务器内部错误",
        "malformed": "请求正文格式不正确。",
        "too_many": "请求过多",
        "access_denied": "您无权执行所请求的操作。",
        "push_rejected": "您已选择拒绝此次登录。",
        "requirements": "密码不符合要求。{0}",
        "common_password": "此密码在常用密码列表中。请换一个密码。",
        "answer_short": "安全问题的答案至少需要 4 个字符",
        "answer_wrong": "您的答案与记录不符。请重试。",
        "invalid_phone": "电话号码无效。",
        "required": "此字段不能为空",
        "invalid_value": "此字段的值无效",
        "not_unique": "已存在此值（{0}）的用户",
        "invalid_email": "“电子邮件”必须是电子邮件地址格式",
        "reset_not_allowed": "目前不允许重置密码。请联系支持人员。",
        "unlock_not_allowed": "目前不允许自助解锁。请联系支持人员。",
        "unlock_success": "您可以使用原有的用户名和密码登录",
        "unlock_landing": "账户已成功解锁！请使用安全验证方式验证您的账户以继续。",
        "recovery_completed": "现在您可以使用原有用户名和新密码登录了。",
        "email_verification": "要完成登录，请查看您的电子邮件。",
        "suspended": "由于失败次数过多，您账户的此验证因素已被暂停",
        "webauthn_attestation": "无法注册该安全密钥或生物识别验证器。请重试。",
        "webauthn_assertion": "该用户注册的 WebAuthn 验证器均无法验证此断言",
        "sms_limit": "您已达到短信请求上限，请稍后重试。",
        "voice_limit": "您已达到电话请求上限，请稍后重试。",
        "password_expiring": "密码过期后，您必须先更改密码，才能登录您的 {0} 账户。",
        "idp_error": "通过身份提供商登录时出现问题。",
        "activation_expired": "您的账户激活链接已失效。请在下方申请新的激活邮件。",
        "activation_expired_admin": "您的账户激活链接已失效。请联系管理员申请新的激活链接。",
        "activation_requested": "已申请新的激活链接。如果您的信息与记录相符，您很快会在收件箱中收到新的激活链接。",
        "captcha_invalid": "CAPTCHA 验证失败。请重试。",
    },
    "zh-TW": {
        "session_expired": "由於閒置過久，您已登出。請重新整理頁面，或返回登入畫面。",
        "passcode_invalid": "驗證碼無效。請再試一次。",
        "duo_failed": "Duo 簽章驗證失敗。",
        "duo_timeout": "未收到 Duo 的回應。",
        "vip_invalid": "您的驗證碼與記錄不符。請再試一次。",
        "password_incorrect": "密碼不正確",
        "auth_failed": "驗證失敗",
        "unknown_user": "沒有使用者名稱為 {0} 的帳戶。",
        "locked": "由於驗證嘗試次數太多，您的帳戶已遭鎖定。",
        "not_assigned": "此使用者未獲指派此應用程式。",
        "bad_request": "要求錯誤。",
        "server_error": "伺服器內部錯誤",
        "malformed": "要求內文的格式不正確。",
        "too_many": "要求太多",
        "access_denied": "您沒有執行所要求操作的權限。",
        "push_rejected": "您已選擇拒絕此次登入。",
        "requirements": "密碼不符合要求。{0}",
        "common_password": "此密碼在常用密碼清單中。請改用其他密碼。",
        "answer_short": "安全提問的答案至少需要 4 個字元",
        "answer_wrong": "您的答案與記錄不符。請再試一次。",
        "invalid_phone": "電話號碼無效。",
        "required": "此欄位不得空白",
        "invalid_value": "此欄位的值無效",
        "not_unique": "已有使用者使用此值（{0}）",
        "invalid_email": "「電子郵件」必須是電子郵件地址格式",
        "reset_not_allowed": "目前不允許重設密碼。請與支援人員聯絡。",
        "unlock_not_allowed": "目前不允許自助解除鎖定。請與支援人員聯絡。",
        "unlock_success": "您可以使用原本的使用者名稱和密碼登入",
        "unlock_landing": "帳戶已成功解除鎖定！請使用安全驗證方式驗證您的帳戶以繼續。",
        "recovery_completed": "您現在可以使用原本的使用者名稱和新密碼登入了。",
        "email_verification": "若要完成登入，請查看您的電子郵件。",
        "suspended": "由於失敗次數太多，您帳戶的此驗證因素已遭暫停",
        "webauthn_attestation": "無法註冊該安全金鑰或生物辨識驗證器。請再試一次。",
        "webauthn_assertion": "此使用者註冊的 WebAuthn 驗證器都無法驗證此判斷提示",
        "sms_limit": "您已達到簡訊要求的上限，請稍後再試。",
        "voice_limit": "您已達到電話要求的上限，請稍後再試。",
        "password_expiring": "密碼過期後，您必須先變更密碼，才能登入您的 {0} 帳戶。",
        "idp_error": "透過身分識別提供者登入時發生問題。",
        "activation_expired": "您的帳戶啟用連結已失效。請在下方申請新的啟用郵件。",
        "activation_expired_admin": "您的帳戶啟用連結已失效。請與管理員聯絡以申請新的啟用連結。",
        "activation_requested": "已申請新的啟用連結。如果您的資料與記錄相符，新的啟用連結很快就會寄到您的收件匣。",
        "captcha_invalid": "CAPTCHA 驗證失敗。請再試一次。",
    },
}

# Labels of the fields Okta names itself (an org's own profile attributes keep the admin's label).
LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "Username": "Nom d'utilisateur",
        "Password": "Mot de passe",
        "Keep me signed in": "Rester connecté",
        "Stay signed in": "Rester connecté",
        "Enter code": "Saisissez le code",
        "Answer": "Réponse",
        "Phone number": "Numéro de téléphone",
        "Email": "E-mail",
        "First name": "Prénom",
        "Last name": "Nom",
    },
    "de": {
        "Username": "Benutzername",
        "Password": "Passwort",
        "Keep me signed in": "Angemeldet bleiben",
        "Stay signed in": "Angemeldet bleiben",
        "Enter code": "Code eingeben",
        "Answer": "Antwort",
        "Phone number": "Telefonnummer",
        "Email": "E-Mail",
        "First name": "Vorname",
        "Last name": "Nachname",
    },
    "ja": {
        "Username": "ユーザー名",
        "Password": "パスワード",
        "Keep me signed in": "サインインしたままにする",
        "Stay signed in": "サインインしたままにする",
        "Enter code": "コードを入力",
        "Answer": "回答",
        "Phone number": "電話番号",
        "Email": "メール",
        "First name": "名",
        "Last name": "姓",
    },
    "ko": {
        "Username": "사용자 이름",
        "Password": "비밀번호",
        "Keep me signed in": "로그인 상태 유지",
        "Stay signed in": "로그인 상태 유지",
        "Enter code": "코드 입력",
        "Answer": "답변",
        "Phone number": "전화번호",
        "Email": "이메일",
        "First name": "이름",
        "Last name": "성",
    },
    "zh-CN": {
        "Username": "用户名",
        "Password": "密码",
        "Keep me signed in": "保持登录状态",
        "Stay signed in": "保持登录",
        "Enter code": "输入验证码",
        "Answer": "答案",
        "Phone number": "电话号码",
        "Email": "电子邮件",
        "First name": "名",
        "Last name": "姓",
    },
    "zh-TW": {
        "Username": "使用者名稱",
        "Password": "密碼",
        "Keep me signed in": "讓我保持登入",
        "Stay signed in": "保持登入",
        "Enter code": "輸入驗證碼",
        "Answer": "答案",
        "Phone number": "電話號碼",
        "Email": "電子郵件",
        "First name": "名字",
        "Last name": "姓氏",
    },
}


def _spoken(tag: str) -> str | None:
    """One of LANGUAGES for a language tag, "en" for English, None for one the simulator does not speak."""
    primary, *subtags = tag.lower().split("-")
    if primary == "zh":
        return "zh-CN" if "hans" in subtags or not _TRADITIONAL.intersection(subtags) else "zh-TW"
    return primary if primary in LANGUAGES or primary == "en" else None


def language(accept_language: str | None) -> str | None:
    """The first language of an Accept-Language header the simulator speaks besides English
    (highest weight first); None for English."""
    ranges = []
    for i, part in enumerate((accept_language or "")[:1024].split(",")[:32]):
        m = _RANGE.fullmatch(part)
        if m is not None and (q := float(m.group(2)) if m.group(2) else 1.0) > 0:
            ranges.append((-q, i, m.group(1)))
    for _, _, tag in sorted(ranges):
        if (spoken := _spoken(tag)) is not None:
            return None if spoken == "en" else spoken
    return None


def _fill(text: str, params: list[Any]) -> str:
    for i, p in enumerate(params):
        text = text.replace(f"{{{i}}}", str(p))
    return text


def _message(m: Json, lang: str) -> None:
    """One message in `lang`, when the simulator sent it and knows its translation."""
    found = m.get("i18n")
    i18n: Json = found if isinstance(found, dict) else {}
    params: list[Any] = i18n["params"] if isinstance(i18n.get("params"), list) else []
    for name, (key, english) in MSG.items():
        if key == i18n.get("key") and _fill(english, params) == m.get("message") and name in MESSAGES[lang]:
            m["message"] = _fill(MESSAGES[lang][name], params)
            return


def _walk(node: Any, lang: str, in_messages: bool = False) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, lang, in_messages)
        return
    if not isinstance(node, dict):
        return
    if in_messages and "message" in node:
        _message(node, lang)
        return
    if "name" in node and isinstance(node.get("label"), str):
        node["label"] = LABELS[lang].get(node["label"], node["label"])
    for key, value in node.items():
        _walk(value, lang, key == "messages" or in_messages)


def translate(doc: Json, accept_language: str | None) -> Json:
    """`doc` (changed in place) in the request's language; as it is for English or a language
    the simulator does not speak."""
    lang = language(accept_language)
    if lang is not None:
        _walk(doc, lang)
    return doc
