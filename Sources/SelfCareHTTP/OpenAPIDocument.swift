// Generated from docs/openapi.yaml: edit that file, then `SELFCARE_UPDATE_DOCS=1 swift test --filter OpenAPI`
// writes it here (a test fails while the two differ).

extension Gateway {
    /// The OpenAPI 3.1 document of the JSON routes, served at `GET /openapi.yaml` (docs/openapi.yaml).
    public static let openAPIDocument = #"""
        openapi: 3.1.0
        info:
          title: SelfCare gateway
          version: 0.1.0-dev
          summary: The JSON routes of a self-service channel gateway for a mobile carrier.
          description: |
            The JSON routes of `selfcare serve`: generic messages (SMS, USSD), IVR driven by JSON actions, the operators'
            records and reload, and health. The wire adapters for Kannel (`/sms/kannel`), USSD aggregators (`/ussd/at`) and
            voice browsers (`/ivr/vxml`) speak their own formats and are described in docs/adapters.md.

            A customer's mistake (unknown text, a wrong key or password, a refused operation) is never an HTTP error: it is
            a 200 whose `result` and `reason` say what happened. Errors are for malformed requests, and carry
            `{"error": "…"}`. Once the database file is removed or replaced under the running server, every route but
            `/healthz`, `/readyz` and `/metrics` answers 503.
          license:
            name: Apache-2.0
            identifier: Apache-2.0
        servers:
          - url: http://127.0.0.1:8080
        paths:
          /v1/messages:
            post:
              operationId: sendMessage
              summary: Handle one SMS, or one USSD step
              description: |
                `{"channel":"sms",…}` answers with the reply, its SMS parts and encoding, the result and reason, and the
                record id; a repeated `id` is answered as the first time and applied once. `{"channel":"ussd",…}` answers
                with the screen and whether it ends the session. At most 24 USSD keys a request.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - $ref: '#/components/schemas/SMSMessage'
                        - $ref: '#/components/schemas/USSDStep'
              responses:
                '200':
                  description: The reply to the message, or the USSD screen.
                  content:
                    application/json:
                      schema:
                        oneOf:
                          - $ref: '#/components/schemas/SMSReply'
                          - $ref: '#/components/schemas/USSDScreen'
                '400':
                  $ref: '#/components/responses/BadRequest'
                '404':
                  $ref: '#/components/responses/ChannelOff'
                '413':
                  $ref: '#/components/responses/TooLarge'
                '415':
                  $ref: '#/components/responses/NotJSON'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/ivr:
            post:
              operationId: ivrStep
              summary: Open a call, or hand over one step's keys
              description: |
                `{"call":ID,"from":NUMBER,"start":true}` opens a call; then `{"call":ID,"from":NUMBER,"digits":"1"}` for each
                step (`digits` absent or empty: no input). An optional `step` (the platform's step counter) makes a retry
                safe: the same step and digits get the same answer, and the keys are handled once.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      $ref: '#/components/schemas/IVRStep'
              responses:
                '200':
                  description: What the platform does next, in order.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/IVRActions'
                '400':
                  $ref: '#/components/responses/BadRequest'
                '404':
                  $ref: '#/components/responses/ChannelOff'
                '413':
                  $ref: '#/components/responses/TooLarge'
                '415':
                  $ref: '#/components/responses/NotJSON'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/records:
            get:
              operationId: listRecords
              summary: Service records, oldest first, a page at a time
              description: |
                One record a line (JSON Lines), or CSV with a header row. A page holds `limit` records; when more follow,
                `X-Next-After` and `Link` give the next page's cursor. Off (404) unless the server has an admin token.
              security:
                - admin: []
              parameters:
                - name: subject
                  in: query
                  description: Only records about this number.
                  schema:
                    $ref: '#/components/schemas/Number'
                - name: since
                  in: query
                  description: Only records at or after this ISO 8601 time (or a bare date, midnight UTC).
                  schema:
                    type: string
                    pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$'
                - name: after
                  in: query
                  description: Only records after this id (the cursor of the previous page).
                  schema:
                    type: integer
                    minimum: 0
                    maximum: 9223372036854775807
                - name: limit
                  in: query
                  description: Records in the page.
                  schema:
                    type: integer
                    minimum: 1
                    maximum: 10000
                    default: 1000
                - name: format
                  in: query
                  schema:
                    type: string
                    enum: [jsonl, csv]
                    default: jsonl
              responses:
                '200':
                  description: A page of records.
                  headers:
                    X-Next-After:
                      description: The id to pass as `after` for the next page; absent on the last page.
                      schema:
                        type: string
                        pattern: '^[0-9]+$'
                    Link:
                      description: The next page, `rel="next"`; absent on the last page.
                      schema:
                        type: string
                  content:
                    application/x-ndjson:
                      schema:
                        type: string
                    text/csv:
                      schema:
                        type: string
                '400':
                  $ref: '#/components/responses/BadRequest'
                '401':
                  $ref: '#/components/responses/Unauthorized'
                '404':
                  $ref: '#/components/responses/AdminOff'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/admin/reload:
            post:
              operationId: reload
              summary: Read grammars and prompts again, and swap them in whole
              description: A set that `selfcare check` refuses is refused here, with its diagnostics, and the running set stays.
              security:
                - admin: []
              responses:
                '200':
                  description: Reloaded.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [reloaded]
                        properties:
                          reloaded:
                            const: true
                '401':
                  $ref: '#/components/responses/Unauthorized'
                '404':
                  $ref: '#/components/responses/AdminOff'
                '422':
                  description: Refused; the running grammars and prompts stay.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [reloaded, error]
                        properties:
                          reloaded:
                            const: false
                          error:
                            type: string
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/orders/answer:
            post:
              operationId: answerOrder
              summary: Billing's answer to a service order, accepted or rejected (docs/orders.md)
              description: |
                Closes the order with the key. The same answer again changes nothing (200); an answer that contradicts
                the one given before is 409; an unknown key is 404. Each answer is recorded (`order.ack`).
              security:
                - admin: []
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [key, result]
                      properties:
                        key:
                          type: string
                          pattern: '^SC-[0-9a-f]{32}$'
                        result:
                          enum: [accepted, rejected]
                        reason:
                          type: string
                          maxLength: 200
              responses:
                '200':
                  description: The order as it now stands.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [order, state]
                        properties:
                          order:
                            type: integer
                          state:
                            enum: [accepted, rejected]
                '400':
                  $ref: '#/components/responses/BadRequest'
                '401':
                  $ref: '#/components/responses/Unauthorized'
                '404':
                  description: The operators' routes are off, or no order has the key.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/Error'
                '409':
                  description: The order was answered otherwise before.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/Error'
                '413':
                  $ref: '#/components/responses/TooLarge'
                '415':
                  $ref: '#/components/responses/NotJSON'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /healthz:
            get:
              operationId: liveness
              summary: Liveness; the process answers
              responses:
                '200':
                  description: Alive.
                  content:
                    text/plain:
                      schema:
                        const: "ok\n"
          /readyz:
            get:
              operationId: readiness
              summary: Readiness; the database is the file opened, can commit, and has room
              responses:
                '200':
                  description: Ready.
                  content:
                    text/plain:
                      schema:
                        const: "ready\n"
                '503':
                  description: Not ready, and why.
                  content:
                    text/plain:
                      schema:
                        type: string
          /openapi.yaml:
            get:
              operationId: openAPIDocument
              summary: This document
              responses:
                '200':
                  description: The OpenAPI 3.1 document of the JSON routes.
                  content:
                    application/yaml:
                      schema:
                        type: string
                '503':
                  $ref: '#/components/responses/Unavailable'
        components:
          securitySchemes:
            admin:
              type: http
              scheme: bearer
              description: The server's `SELFCARE_ADMIN_TOKEN`.
          schemas:
            Number:
              description: A phone number, 5 to 15 digits, optionally with `+86` or `0086`, spaces or dashes.
              type: string
              minLength: 5
              maxLength: 40
              pattern: '^[ -]*(?:\+86|0086)?(?:[ -]*[0-9]){5,15}[ -]*$'
              examples: ['18612345678']
            Identifier:
              description: A message, session or call id; no control characters.
              type: string
              minLength: 1
              maxLength: 128
              pattern: '^[^\x00-\x1f\x7f-\x9f]+$'
            Code:
              description: A short code or USSD service code; no control characters.
              type: string
              maxLength: 64
              pattern: '^[^\x00-\x1f\x7f-\x9f]*$'
            SMSMessage:
              type: object
              required: [from, text]
              properties:
                channel:
                  const: sms
                  default: sms
                from:
                  $ref: '#/components/schemas/Number'
                to:
                  $ref: '#/components/schemas/Code'
                text:
                  type: string
                id:
                  description: The gateway's message id; a retry with the same id is answered as the first time. Empty is none.
                  type: string
                  maxLength: 128
                  pattern: '^[^\x00-\x1f\x7f-\x9f]*$'
            USSDStep:
              type: object
              required: [channel, from, session, code]
              properties:
                channel:
                  const: ussd
                from:
                  $ref: '#/components/schemas/Number'
                session:
                  $ref: '#/components/schemas/Identifier'
                code:
                  $ref: '#/components/schemas/Code'
                input:
                  type: string
            Outcome:
              type: object
              required: [result, reason]
              properties:
                result:
                  type: string
                  enum: [ok, refused, error]
                reason:
                  description: The reason code (docs/operations.md).
                  type: string
            SMSReply:
              allOf:
                - $ref: '#/components/schemas/Outcome'
                - type: object
                  required: [reply, segments, encoding, record]
                  properties:
                    reply:
                      type: string
                    segments:
                      description: The reply as the SMS parts it is sent in.
                      type: array
                      items:
                        type: string
                    encoding:
                      type: string
                      enum: [gsm7, ucs2]
                    record:
                      description: The service record's id; null when none was written.
                      type: [integer, 'null']
            USSDScreen:
              type: object
              required: [screen, ends]
              properties:
                screen:
                  type: string
                ends:
                  description: Whether the session ends with this screen (`END`) or waits for an answer (`CON`).
                  type: boolean
            IVRStep:
              type: object
              required: [call, from]
              properties:
                call:
                  $ref: '#/components/schemas/Identifier'
                from:
                  $ref: '#/components/schemas/Number'
                start:
                  description: Opens the call.
                  type: boolean
                digits:
                  description: The keys pressed at this step; more typed ahead walk the steps that follow. Null or empty is no input.
                  type: [string, 'null']
                  maxLength: 64
                  pattern: '^[^\x00-\x1f\x7f-\x9f]*$'
                step:
                  description: The platform's step counter; null is none.
                  type: [integer, 'null']
                  minimum: 0
                  maximum: 2147483647
            IVRActions:
              type: object
              required: [actions]
              properties:
                actions:
                  type: array
                  items:
                    $ref: '#/components/schemas/IVRAction'
            IVRAction:
              type: object
              required: [type]
              properties:
                type:
                  type: string
                  enum: [play, collect, transfer, hangup]
                text:
                  type: string
                audio:
                  type: string
                maxDigits:
                  type: integer
                  minimum: 1
                terminator:
                  type: string
                keys:
                  type: array
                  items:
                    type: string
                noInputTimeout:
                  description: Seconds.
                  type: integer
                interDigitTimeout:
                  description: Seconds.
                  type: integer
                queue:
                  type: string
                priority:
                  type: integer
            Error:
              type: object
              required: [error]
              properties:
                error:
                  type: string
          responses:
            BadRequest:
              description: A malformed request, and why.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            ChannelOff:
              description: The channel is turned off on this server (`SELFCARE_CHANNELS`).
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            TooLarge:
              description: The body is over 64 KiB.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            NotJSON:
              description: The body is not `application/json`.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            Unauthorized:
              description: No bearer token, or the wrong one.
              headers:
                WWW-Authenticate:
                  schema:
                    type: string
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            AdminOff:
              description: The operators' routes are off (no `SELFCARE_ADMIN_TOKEN`).
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            Unavailable:
              description: The database file was removed or replaced under the running server; nothing is acknowledged.
              content:
                text/plain:
                  schema:
                    type: string

        """#
}
